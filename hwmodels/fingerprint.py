"""A content hash of the hardware model (its code and data tables), to tag derived labels with."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources


@cache
def fingerprint() -> str:
    """16 hex digits of SHA-256 over every ``.py``, ``.csv`` and ``.toml`` file of ``hwmodels``.

    Labels computed from hwmodels (analytic estimates, Ethos-U energy) record it, so a store can
    tell which of them an edit to the model or its tables left stale.
    """
    h = hashlib.sha256()
    root = resources.files("hwmodels")
    files = [f for f in root.iterdir() if f.name.endswith(".py")]
    files += [f for f in root.joinpath("data").iterdir() if f.name.endswith((".csv", ".toml"))]
    for f in sorted(files, key=lambda f: f.name):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]
