"""The edgeperf service (FastAPI) and command line (typer)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edgeperf")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
