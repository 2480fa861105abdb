"""Stand-alone arithmetic operators (add, multiply) as the published energy tables measure them.

Integer ops: a ripple adder; a multiplier that is the smaller of a Dadda and a radix-4 Booth one.
FP ops: speed-optimised IEEE 754 units, as synthesised library parts are: a dual-path adder
(Seidel & Even, IEEE TC 2004) and a multiplier with compound-adder rounding, subnormal and
special-value handling. Used to fit each node's energy per gate and to check the model against
Horowitz (ISSCC 2014) and TPUv4i (ISCA 2021). The MAC datapaths of :mod:`hwmodels.datapath` are
separate and minimal.
"""

from __future__ import annotations

from collections.abc import Sequence

from hwmodels.components import (
    Component,
    Role,
    and_row,
    barrel_shifter,
    booth_multiplier,
    compound_adder,
    conditional_negate,
    incrementer,
    leading_zero_anticipator,
    leading_zero_counter,
    mux_row,
    prefix_adder,
    ripple_adder,
    special_values,
    sticky_or,
    tree_multiplier,
)
from hwmodels.errors import EstimateError
from hwmodels.formats import NumberFormat, get_format
from hwmodels.operands import p_near_path, p_subnormal_operand, p_subnormal_product

OPS: tuple[str, ...] = ("add", "mul")
_SE = "Seidel & Even, Delay-optimized implementation of IEEE FP addition, IEEE TC 53(2), 2004"
_ES = "Even & Seidel, A comparison of three rounding algorithms for IEEE FP multiplication, IEEE TC 49(7), 2000"


def _named(c: Component, name: str, duty: float | None = None) -> Component:
    return Component(name, c.role, c.cells, c.formula, c.source, c.duty if duty is None else duty)


def int_multiplier(n: int) -> Component:
    """The smaller of an n x n Dadda and an n x n radix-4 Booth multiplier (ripple CPA): the choice
    an area-driven synthesis makes between its carry-save-array and Booth implementations."""
    return min(tree_multiplier(n), booth_multiplier(n, signed=True), key=lambda c: c.gates)


def fp_adder(f: NumberFormat) -> list[Component]:
    """Dual-path IEEE adder (Farmwald 1981; Oberman, Stanford PhD 1996; Seidel & Even 2004), p = M+1.

    Shared: special values; ``|ea - eb|`` from one (E+1)-bit compound adder (``ea + ~eb`` and
    ``ea + ~eb + 1``) and a conditional complement; operand swap. Far path (effective addition,
    or exponents at least 2 apart): alignment shifter over p+2 bits (guard, round) with sticky
    OR of the bits shifted out, conditional complement, compound adder over the p+1 high bits
    (sum and sum+1: rounding is a selection) fed the carry of a 2-bit guard/round adder, round
    decision, one-position normalisation, exponent +-1. Near path (effective subtraction with
    exponents at most 1 apart; it needs no rounding): operand isolation, one-position
    alignment, compound adder giving ``a - b`` and ``b - a`` (end-around), leading-zero
    anticipator, normalisation shifter with its one-bit compensation, exponent minus shift and
    the shift limit at emin (subnormal results). Path select, special-value override.

    Only the near path is isolated (it serves a rare case; duty =
    :func:`~hwmodels.operands.p_near_path`); the far path works in every operation.
    """
    e, m, p = f.exp_bits, f.man_bits, f.significand_bits
    near = p_near_path(f)
    near_blocks = [
        and_row(2 * (p + e), "near-path operand isolation"),
        mux_row(p + 1, "near one-bit align"),
        compound_adder(p + 1),
        conditional_negate(p + 1),
        leading_zero_anticipator(p + 1),
        barrel_shifter(p + 1, p, "near normalisation shifter"),
        mux_row(p + 1, "near LZA compensation"),
        _named(prefix_adder(e + 1), f"near exponent adjust {e + 1}b"),
        _named(prefix_adder(e + 1), f"near shift limit {e + 1}b"),
        mux_row(e, "near shift-limit select", Role.CONTROL),
    ]
    return [
        special_values(e, m),
        _named(compound_adder(e + 1), f"exponent difference (compound) {e + 1}b"),
        _named(conditional_negate(e + 1), f"exponent difference complement {e + 1}b"),
        mux_row(2 * p + e, "operand swap"),
        barrel_shifter(p + 2, p + 2, "far alignment shifter"),
        _named(sticky_or(p + 2), f"far sticky OR {p + 2}b"),
        _named(conditional_negate(p + 2), f"far conditional complement {p + 2}b"),
        _named(ripple_adder(2), "far guard/round adder 2b"),
        _named(compound_adder(p + 1), f"far compound adder {p + 1}b"),
        Component("far round decision", Role.CONTROL, {"and2": 2, "or2": 3}, "2 AND2 + 3 OR2", _SE),
        mux_row(p + 1, "far round select"),
        mux_row(p + 1, "far one-bit normalise"),
        _named(incrementer(e + 1, Role.CONTROL), f"far exponent adjust {e + 1}b"),
        *(_named(c, f"{c.name} (near path)", near) for c in near_blocks),
        mux_row(p + e, "path select"),
        mux_row(1 + e + m, "special-value override"),
    ]


def fp_multiplier(f: NumberFormat) -> list[Component]:
    """IEEE multiplier with full subnormal support, p = M+1.

    Special values; subnormal operands normalised first (per operand a leading-zero counter and
    a left shifter, isolated: they work only when an operand is subnormal, with a bypass mux);
    p x p Dadda significand array (the same array as the MAC datapaths use) whose CPA is a
    prefix adder on the low half (carry and sticky) and a compound adder on the high half, so
    rounding is a selection between sum and sum+1 (Even & Seidel 2000); exponent sum minus bias and
    normalisation counts (prefix adders); subnormal results shifted right with sticky (isolated,
    duty = :func:`~hwmodels.operands.p_subnormal_product`); special-value override.
    """
    e, m, p = f.exp_bits, f.man_bits, f.significand_bits
    sub_in = p_subnormal_operand(f)
    sub_out = p_subnormal_product(f)
    core = tree_multiplier(p, cpa="ripple")
    # Replace the array's ripple CPA by the rounding CPA below (low-half carry/sticky prefix tree
    # and a high-half compound adder).
    cpa = ripple_adder(2 * p - 2)
    cells = {c: n - cpa.cells.get(c, 0) for c, n in core.cells.items()}
    formula = core.formula.split(" + ", 3)[:3]
    array = Component(
        core.name + " (carry-save)", core.role, cells, " + ".join(formula), core.source
    )
    normalise_in = []
    for side in ("a", "b"):
        normalise_in += [
            and_row(p, f"operand {side} normaliser isolation"),
            _named(leading_zero_counter(p), f"operand {side} leading-zero counter {p}b", sub_in),
            _named(barrel_shifter(p, p - 1), f"operand {side} normaliser {p}b", sub_in),
            mux_row(p, f"operand {side} normaliser bypass"),
        ]
    return [
        special_values(e, m),
        *normalise_in,
        array,
        _named(prefix_adder(p), f"low-half carry and sticky {p}b"),
        compound_adder(p + 1),
        Component("round decision", Role.CONTROL, {"and2": 2, "or2": 3}, "2 AND2 + 3 OR2", _ES),
        mux_row(p, "round select"),
        mux_row(p, "one-bit normalise"),
        _named(prefix_adder(e + 2), f"exponent sum {e + 2}b"),
        _named(prefix_adder(e + 2), f"exponent bias and normalisation {e + 2}b"),
        incrementer(e + 2, Role.CONTROL),
        and_row(p + 2, "subnormal-result isolation"),
        _named(
            barrel_shifter(p + 2, p + 1, "subnormal result shifter"),
            f"subnormal result shifter {p + 2}b",
            sub_out,
        ),
        _named(sticky_or(p + 1), f"subnormal sticky {p + 1}b", sub_out),
        mux_row(p, "subnormal result bypass"),
        Component("sign XOR", Role.CONTROL, {"xor2": 1}, "1 XOR2", _ES),
        mux_row(1 + e + m, "special-value override"),
    ]


def operator(op: str, fmt: str) -> list[Component]:
    """Components of one stand-alone ``op`` (``"add"`` or ``"mul"``) in format ``fmt``."""
    f = get_format(fmt)
    if op not in OPS:
        raise EstimateError(f"unknown operator {op!r}; expected one of {list(OPS)}")
    if not f.is_float:
        return [ripple_adder(f.bits)] if op == "add" else [int_multiplier(f.bits)]
    return fp_adder(f) if op == "add" else fp_multiplier(f)


def total_gates(components: Sequence[Component]) -> float:
    return sum(c.gates for c in components)
