"""Errors raised while reading and learning from TFLite graphs."""

from __future__ import annotations

from hwmodels.errors import EdgePerfError


class ReaderError(EdgePerfError, ValueError):
    """The bytes are not a TFLite model this reader can trust: the message says what is wrong."""


class UnknownTargetError(EdgePerfError, KeyError):
    """A prediction target name is not in the registry: the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(EdgePerfError, ValueError):
    """A checkpoint is missing, tampered with, or incompatible with this code's feature schema."""


class TrainingError(EdgePerfError, ValueError):
    """Training cannot proceed with the data given (too few graphs, no labels, bad split)."""


class CalibrationError(EdgePerfError, ValueError):
    """A new device cannot be calibrated from the measurements given."""
