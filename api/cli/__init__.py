"""The ``edgeperf`` command line.

One typer app; each command group lives in its own module of this package and is mounted here.
Library errors (:class:`hwmodels.errors.EdgePerfError`) become a one-line message and exit code 2.
"""

from __future__ import annotations

import logging
import sys

import typer

from hwmodels.errors import EdgePerfError

app = typer.Typer(
    name="edgeperf",
    help="Predict latency, energy and memory of TFLite models on edge hardware.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

EXIT_USER_ERROR = 2


def _mount() -> None:
    # Imported here so `edgeperf --help` does not pay for torch/tensorflow imports of every group.
    from api.cli import dataset as dataset_cmd
    from api.cli import hw as hw_cmd
    from api.cli import inspect as inspect_cmd
    from api.cli import predict as predict_cmd
    from api.cli import serve as serve_cmd
    from api.cli import target as target_cmd
    from api.cli import train as train_cmd

    app.command("inspect")(inspect_cmd.inspect)
    app.command("serve")(serve_cmd.serve)
    app.add_typer(dataset_cmd.app, name="dataset")
    app.add_typer(hw_cmd.app, name="hw")
    app.command("train")(train_cmd.train)
    app.command("evaluate")(train_cmd.evaluate)
    app.command("predict")(predict_cmd.predict)
    app.add_typer(target_cmd.app, name="target")


def main() -> None:
    """Console entry point: run the app, turning project errors into exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _mount()
    try:
        # Without standalone mode, click returns a command's exit code instead of exiting.
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except EdgePerfError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
