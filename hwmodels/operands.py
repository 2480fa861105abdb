"""How often each case of a floating-point operation arises, for operands drawn uniformly over all
bit patterns (the random-vector convention of gate-level power estimation).

The probabilities set the ``duty`` of blocks that serve one case only (the near path of a
dual-path adder, subnormal and special-value handling): see :class:`hwmodels.components.Component`.
They are computed from the format, never fitted.
"""

from __future__ import annotations

from functools import cache

from hwmodels.formats import NumberFormat


def _codes(fmt: NumberFormat) -> range:
    """Exponent field values of finite numbers (all ones is Inf/NaN in IEEE-like formats)."""
    return range(fmt.max_exp_code + 1)


def _effective(code: int) -> int:
    """Exponent a significand is scaled by: subnormals (code 0) share the code-1 exponent."""
    return max(code, 1)


@cache
def p_exp_diff_at_most(fmt: NumberFormat, k: int) -> float:
    """P(|ea - eb| <= k) for two independent uniform finite exponent fields."""
    codes = _codes(fmt)
    hits = sum(1 for a in codes for b in codes if abs(_effective(a) - _effective(b)) <= k)
    return hits / len(codes) ** 2


def p_near_path(fmt: NumberFormat) -> float:
    """Share of additions taking a dual-path adder's near path: an effective subtraction (signs
    differ: 1/2) with exponents at most one apart."""
    return 0.5 * p_exp_diff_at_most(fmt, 1)


def p_subnormal_operand(fmt: NumberFormat) -> float:
    """P(at least one of two operands is subnormal or zero: exponent field 0)."""
    return 1 - (1 - 2.0**-fmt.exp_bits) ** 2


@cache
def p_subnormal_product(fmt: NumberFormat) -> float:
    """P(the exact product of two finite normal or subnormal operands falls in the subnormal range
    of ``fmt``: its unbiased exponent is below emin but not so far that it rounds to zero)."""
    codes = _codes(fmt)
    p = fmt.significand_bits
    hits = 0
    for a in codes:
        for b in codes:
            e = _effective(a) + _effective(b) - 2 * fmt.bias
            if fmt.emin - p <= e < fmt.emin:
                hits += 1
    return hits / len(codes) ** 2
