"""Errors raised while reading and learning from TFLite graphs."""

from __future__ import annotations

from hwmodels.errors import EdgePerfError


class ReaderError(EdgePerfError, ValueError):
    """The bytes are not a TFLite model this reader can trust: the message says what is wrong."""
