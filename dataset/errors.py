"""Errors raised while building, labelling and storing the dataset.

All derive from :class:`hwmodels.errors.EdgePerfError` through :class:`DatasetError`, so the CLI
maps them to one exit code. Messages say what was got and what was expected.
"""

from __future__ import annotations

from hwmodels.errors import EdgePerfError


class DatasetError(EdgePerfError):
    """Base of the errors of the ``dataset`` package."""


class UnknownLabelTargetError(DatasetError, KeyError):
    """A target name that the labelling table does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class MeasureError(DatasetError, RuntimeError):
    """The measurement worker failed, timed out, or answered something that is not a result."""


class VelaError(DatasetError, RuntimeError):
    """Vela could not be run, or its summary could not be read."""


class StoreError(DatasetError, ValueError):
    """The dataset store or an export file holds something that is not what was expected."""


class BuildError(DatasetError, ValueError):
    """A build was asked for something it cannot do (unknown phase, unknown space, bad n)."""


class SpecError(DatasetError, ValueError):
    """An architecture spec that is not what a search space produces (wrong keys, bad values)."""


class UnknownSpaceError(SpecError, KeyError):
    """A search-space name that is not in :data:`dataset.spaces.SPACES`."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class ConversionError(DatasetError, RuntimeError):
    """TensorFlow could not turn a Keras model into a .tflite flatbuffer (or a bad precision)."""
