"""The project's error hierarchy.

Every error edgeperf raises on purpose derives from :class:`EdgePerfError`. It lives in
``hwmodels`` because that is the bottom of the package stack (``hwmodels`` <- ``predictor`` <-
``dataset`` <- ``api``): every package can import it. The API maps these to HTTP statuses in one
handler and the CLI maps them to exit codes, so messages must say what was got and what was
expected.
"""

from __future__ import annotations


class EdgePerfError(Exception):
    """Base of every error edgeperf raises deliberately."""


class UnknownFormatError(EdgePerfError, KeyError):
    """A number format name that is not in the format table."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class UnknownNodeError(UnknownFormatError):
    """A process-node name that is not in the node table."""


class UnknownAcceleratorError(UnknownFormatError):
    """An accelerator preset name that is not in the preset table."""


class EstimateError(EdgePerfError, ValueError):
    """A hardware model refuses to estimate what it cannot (bad work descriptor, bad config)."""
