"""Floating-point and fixed-point datapaths built from :mod:`hwmodels.components`.

A floating-point multiply produces an exact product (significand array, exponent adder, sign);
an accumulator adds it into a register either in floating point (single-path adder: exponent
compare and swap, alignment, add, leading-zero count, normalise, round; Parhami ch. 18) or exactly
in a wide fixed-point (Kulisch) register after shifting it into place.
"""

from __future__ import annotations

from hwmodels.components import (
    Component,
    Role,
    barrel_shifter,
    conditional_negate,
    exponent_adder,
    incrementer,
    leading_zero_counter,
    multiplier,
    register,
    ripple_adder,
    rounding,
    sticky_or,
    swap_mux,
)
from hwmodels.formats import NumberFormat

_P18 = "Parhami, Computer Arithmetic 2e, ch. 18 (FP adders and multipliers)"


def _mux_row(n: int, name: str) -> Component:
    return Component(f"{name} {n}b", Role.SHIFTER, {"mux2": n}, f"n MUX2, n={n}", _P18)


def product_exp_bits(fmt: NumberFormat) -> int:
    """Bits of a product's exponent: the sum of two exponents needs one more bit."""
    return fmt.exp_bits + 1


def product_sig_bits(fmt: NumberFormat) -> int:
    """Bits of an exact product's significand: twice the operand significand."""
    return 2 * fmt.significand_bits


def fp_product(
    fmt: NumberFormat, mult_style: str = "dadda", cpa: str = "ripple"
) -> list[Component]:
    """Exact FP product: (M+1)x(M+1) significand multiplier, exponent adder, sign XOR, and the
    hidden-bit detection (exponent field non-zero: an OR over E bits per operand)."""
    sig = fmt.significand_bits
    return [
        multiplier(sig, sig, mult_style, cpa),
        exponent_adder(fmt.exp_bits),
        Component("sign XOR", Role.CONTROL, {"xor2": 1}, "1 XOR2", _P18),
        Component(
            "hidden-bit detect",
            Role.CONTROL,
            {"or2": 2 * (fmt.exp_bits - 1)},
            f"2(E-1) OR2, E={fmt.exp_bits}",
            _P18,
        ),
    ]


def fp_normalise_inputs(fmt: NumberFormat) -> list[Component]:
    """Normalise subnormal operands before an IEEE multiply (per operand: a leading-zero counter
    and a left shifter over the significand)."""
    sig = fmt.significand_bits
    lzc, shift = leading_zero_counter(sig), barrel_shifter(sig, sig, "input normaliser")
    return [lzc, shift, lzc, shift]


def fp_round_product(fmt: NumberFormat) -> list[Component]:
    """Round an exact product back to ``fmt`` (a stand-alone multiplier): one-bit normalisation
    mux, sticky OR over the dropped low half, round-to-nearest-even, exponent increment, and
    subnormal results (a right shift of the significand by the exponent underflow)."""
    sig = fmt.significand_bits
    e = product_exp_bits(fmt)
    return [
        _mux_row(sig + 1, "1-bit normalise"),
        sticky_or(sig),
        rounding(sig),
        incrementer(e, Role.CONTROL),
        barrel_shifter(sig + 2, sig + 2, "subnormal shift"),
        ripple_adder(e, Role.CONTROL),
    ]


def fp_add(acc: NumberFormat, in_sig_bits: int, in_exp_bits: int) -> list[Component]:
    """Single-path FP adder that adds an operand (``in_sig_bits`` significand, ``in_exp_bits``
    exponent) to an ``acc``-format operand and rounds to ``acc`` (round to nearest even, with
    subnormal results).

    The datapath is ``w = max(acc significand, input significand) + 3`` bits wide (guard, round,
    sticky). Blocks: exponent difference and its absolute value, operand swap, alignment shifter
    with sticky OR, conditional complement for effective subtraction, ``w+1``-bit adder, result
    complement, leading-zero counter and normalisation shifter (its shift limited by the
    exponent so results may be subnormal), exponent adjust, rounding, and post-rounding
    renormalisation.
    """
    ea = max(acc.exp_bits, in_exp_bits) + 1
    sig = max(acc.significand_bits, in_sig_bits)
    w = sig + 3
    return [
        ripple_adder(ea, Role.CONTROL),
        conditional_negate(ea),
        incrementer(ea, Role.CONTROL),
        swap_mux(sig),
        barrel_shifter(w, w, "alignment shifter"),
        sticky_or(w),
        conditional_negate(w),
        ripple_adder(w + 1),
        conditional_negate(w + 1),
        incrementer(w + 1),
        leading_zero_counter(w + 1),
        ripple_adder(ea, Role.CONTROL),  # normalise shift limit: min(lzc, exponent - emin)
        _mux_row(ea, "shift-limit select"),
        barrel_shifter(w + 1, w + 1, "normalisation shifter"),
        ripple_adder(ea, Role.CONTROL),  # exponent adjust
        rounding(acc.significand_bits),
        _mux_row(acc.significand_bits, "post-round renormalise"),
        incrementer(ea, Role.CONTROL),
    ]


def kulisch_add(width: int, in_sig_bits: int, span: int) -> list[Component]:
    """Exact fixed-point accumulation of a FP product: shift the product's significand into its
    place in a ``width``-bit register (``span`` positions), negate by sign, add."""
    return [
        barrel_shifter(width, span, "alignment shifter"),
        conditional_negate(in_sig_bits),
        ripple_adder(width),
    ]


def int_add(width: int) -> list[Component]:
    """Fixed-point accumulation of an integer product: a ``width``-bit ripple adder."""
    return [ripple_adder(width)]


def accumulator_register(bits: int) -> Component:
    """The accumulator's state."""
    return register(bits, "accumulator register")
