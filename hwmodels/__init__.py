"""Analytic hardware models: number formats, MAC units, accelerators. Knows nothing of TFLite."""

from hwmodels.errors import (
    EdgePerfError,
    EstimateError,
    UnknownAcceleratorError,
    UnknownFormatError,
    UnknownNodeError,
)

__all__ = [
    "EdgePerfError",
    "EstimateError",
    "UnknownAcceleratorError",
    "UnknownFormatError",
    "UnknownNodeError",
]
