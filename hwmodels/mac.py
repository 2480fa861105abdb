"""Multiply-accumulate units: a multiplier for the input format plus an accumulator.

Gate count is the sum of the blocks (:mod:`hwmodels.datapath`); area is gates x the node's NAND2
area; energy per MAC is activity-weighted gates x the node's fitted energy per gate. The method
follows the analytical comparison of van Baalen et al., FP8 versus INT8 (arXiv 2303.17951).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from hwmodels.activity import switched_ge
from hwmodels.components import MULTIPLIER_STYLES, Component, multiplier
from hwmodels.datapath import (
    accumulator_register,
    fp_add,
    fp_product,
    int_add,
    kulisch_add,
    product_exp_bits,
    product_sig_bits,
)
from hwmodels.errors import EstimateError, UnknownFormatError
from hwmodels.formats import NumberFormat, get_format
from hwmodels.nodes import get_node

_FIXED = re.compile(r"^(?:int|fixed|fx)?(\d+)$")
#: Widest fixed-point accumulator accepted (a Kulisch accumulator for FP32 is ~600 bits).
MAX_FIXED_ACC_BITS = 1024


@dataclass(frozen=True, slots=True)
class Accumulator:
    """What the products are summed into: a fixed-point width or a floating-point format."""

    name: str
    fixed_bits: int = 0
    fmt: NumberFormat | None = None

    @property
    def bits(self) -> int:
        return self.fmt.bits if self.fmt is not None else self.fixed_bits


@dataclass(frozen=True, slots=True)
class MacUnit:
    """One MAC unit at one process node.

    Attributes:
        fmt: Input (weight and activation) format name.
        acc: Accumulator name (``"int27"`` or a format such as ``"fp16"``).
        node: Process node name.
        components: The blocks, multiplier first.
        gates: Size in gate equivalents (NAND2 areas).
        area_um2: Silicon area, um^2.
        energy_pj: Energy of one multiply-accumulate, pJ.
    """

    fmt: str
    acc: str
    node: str
    components: tuple[Component, ...]
    gates: float
    area_um2: float
    energy_pj: float

    def to_dict(self) -> dict[str, object]:
        return {
            "format": self.fmt,
            "acc": self.acc,
            "node": self.node,
            "gates": round(self.gates, 1),
            "area_um2": round(self.area_um2, 3),
            "energy_pj": round(self.energy_pj, 5),
            "components": [c.to_dict() for c in self.components],
        }


def parse_accumulator(fmt: NumberFormat, acc: str | None) -> Accumulator:
    """Resolve an accumulator name: ``None`` (the format's default), ``"exact"``, a fixed-point
    width (``"int27"``, ``"27"``) or a floating-point format name (``"fp16"``)."""
    name = fmt.default_acc if acc is None else acc.strip().lower()
    if name == "exact":
        bits = fmt.exact_acc_bits()
        return Accumulator(f"int{bits}", fixed_bits=bits)
    match = _FIXED.match(name)
    if match:
        bits = int(match.group(1))
        need = 2 * fmt.bits - 1 if not fmt.is_float else product_sig_bits(fmt) + 1
        if not need <= bits <= MAX_FIXED_ACC_BITS:
            raise EstimateError(
                f"fixed-point accumulator {acc!r} for {fmt.name} must be {need}..."
                f"{MAX_FIXED_ACC_BITS} bits (at least one exact product), got {bits}"
            )
        return Accumulator(f"int{bits}", fixed_bits=bits)
    try:
        acc_fmt = get_format(name)
    except UnknownFormatError:
        raise UnknownFormatError(
            f"unknown accumulator {acc!r}; expected 'exact', a fixed-point width such as "
            f"'int27', or a floating-point format name"
        ) from None
    if not fmt.is_float:
        raise EstimateError(
            f"integer format {fmt.name} accumulates in fixed point; got floating-point "
            f"accumulator {acc!r}, expected 'exact' or 'int<bits>'"
        )
    return Accumulator(acc_fmt.name, fmt=acc_fmt)


def mac_components(
    fmt: NumberFormat, acc: Accumulator, mult_style: str = "dadda"
) -> list[Component]:
    """The blocks of a MAC unit (node-independent)."""
    if mult_style not in MULTIPLIER_STYLES:
        raise EstimateError(
            f"unknown multiplier style {mult_style!r}; expected one of {list(MULTIPLIER_STYLES)}"
        )
    if not fmt.is_float:
        return [
            multiplier(fmt.bits, fmt.bits, mult_style),
            *int_add(acc.fixed_bits),
            accumulator_register(acc.fixed_bits),
        ]
    product = fp_product(fmt, mult_style)
    sig, exp = product_sig_bits(fmt), product_exp_bits(fmt)
    if acc.fmt is not None:
        return [*product, *fp_add(acc.fmt, sig, exp), accumulator_register(acc.bits)]
    # Kulisch: the product's significand can land anywhere its exponent range allows.
    span = max(acc.fixed_bits - sig, 1)
    return [*product, *kulisch_add(acc.fixed_bits, sig, span), accumulator_register(acc.bits)]


@lru_cache(maxsize=256)
def mac_unit(
    fmt: str, acc: str | None = None, node: str = "7nm", mult_style: str = "dadda"
) -> MacUnit:
    """Build a MAC unit for input format ``fmt`` with accumulator ``acc`` at ``node``.

    Args:
        fmt: Input format name (``"int8"``, ``"fp8-e4m3"``...).
        acc: ``None`` for the format's default (an exact fixed-point accumulator for 2^12
            products for integers and FP8/FP4, FP32 for 16/32-bit floats), ``"exact"``, a
            fixed-point width (``"int27"``) or a floating-point format (``"fp16"``).
        node: Process node (``"7nm"`` or ``"45nm"``).
        mult_style: ``"dadda"`` (default), ``"wallace"`` or ``"array"``.
    """
    f = get_format(fmt)
    n = get_node(node)
    a = parse_accumulator(f, acc)
    comps = tuple(mac_components(f, a, mult_style))
    gates = sum(c.gates for c in comps)
    return MacUnit(
        fmt=f.name,
        acc=a.name,
        node=n.name,
        components=comps,
        gates=gates,
        area_um2=gates * n.um2_per_ge,
        energy_pj=switched_ge(comps) * n.pj_per_ge,
    )


def compare_formats(node: str = "7nm", baseline: str = "int8") -> list[dict[str, object]]:
    """Every format's default MAC unit at ``node``: gates, area, energy, and ratios to
    ``baseline`` (the table behind ``edgeperf hw formats`` and ``GET /hardware/formats``)."""
    from hwmodels.formats import FORMATS

    base = mac_unit(baseline, node=node)
    rows = []
    for name, f in FORMATS.items():
        m = mac_unit(name, node=node)
        rows.append(
            {
                "format": name,
                "bits": f.bits,
                "kind": str(f.kind),
                "acc": m.acc,
                "gates": round(m.gates, 1),
                "area_um2": round(m.area_um2, 3),
                "energy_pj": round(m.energy_pj, 5),
                "gates_vs_" + baseline: round(m.gates / base.gates, 3),
                "area_vs_" + baseline: round(m.area_um2 / base.area_um2, 3),
                "energy_vs_" + baseline: round(m.energy_pj / base.energy_pj, 3),
            }
        )
    return rows
