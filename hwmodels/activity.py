"""Switching activity per datapath role (``data/activity.csv``): energy weights for gates.

Energy of a block = gates x activity(role) x duty x the node's energy per gate equivalent, where
``duty`` (:class:`~hwmodels.components.Component`) is the fraction of operations the block works in.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

from hwmodels.components import Component, Role


@cache
def activity() -> Mapping[Role, float]:
    """Relative switching activity of each role, loaded once."""
    text = resources.files("hwmodels.data").joinpath("activity.csv").read_text()
    return {Role(r["role"]): float(r["activity"]) for r in csv.DictReader(text.splitlines())}


def switched_ge(components: Sequence[Component]) -> float:
    """Activity- and duty-weighted gate equivalents: what one operation switches."""
    act = activity()
    return sum(c.gates * act[c.role] * c.duty for c in components)
