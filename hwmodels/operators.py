"""Stand-alone arithmetic operators (add, multiply) as the published energy tables measure them.

Integer ops are a ripple adder and a Dadda multiplier; FP ops are complete IEEE-style units
(exact product then rounding; a single-path adder with rounding). Used to fit each node's energy
per gate and to check the gate model against Horowitz (ISSCC 2014) and TPUv4i (ISCA 2021).
"""

from __future__ import annotations

from collections.abc import Sequence

from hwmodels.components import Component, ripple_adder, tree_multiplier
from hwmodels.datapath import fp_add, fp_normalise_inputs, fp_product, fp_round_product
from hwmodels.errors import EstimateError
from hwmodels.formats import get_format

OPS: tuple[str, ...] = ("add", "mul")


def operator(op: str, fmt: str) -> list[Component]:
    """Components of one stand-alone ``op`` (``"add"`` or ``"mul"``) in format ``fmt``."""
    f = get_format(fmt)
    if op not in OPS:
        raise EstimateError(f"unknown operator {op!r}; expected one of {list(OPS)}")
    if not f.is_float:
        return [ripple_adder(f.bits)] if op == "add" else [tree_multiplier(f.bits)]
    if op == "add":
        return fp_add(f, f.significand_bits, f.exp_bits)
    # Rounding waits on the product's carry-propagate adder, so IEEE multipliers use a fast
    # (prefix) CPA there (as in Galal & Horowitz, Energy-efficient FP unit design, IEEE TC 2011).
    return [*fp_normalise_inputs(f), *fp_product(f, cpa="kogge-stone"), *fp_round_product(f)]


def total_gates(components: Sequence[Component]) -> float:
    return sum(c.gates for c in components)
