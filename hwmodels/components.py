"""Gate-count formulas for the datapath blocks of a multiply-accumulate unit.

Each function returns a :class:`Component`: how many standard cells of each type the block needs,
so its size in gate equivalents (GE, 2-input NAND areas, weights from ``data/cells.csv``) follows.
Formulas are the textbook ones (Weste & Harris, *CMOS VLSI Design* 4e ch. 11; Parhami, *Computer
Arithmetic* 2e), cited per function; they count logic, not wiring, buffering or timing closure.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from math import ceil, log2

from hwmodels.errors import EstimateError


class Role(StrEnum):
    """What a block does; it decides the block's switching activity (``data/activity.csv``)."""

    ADDER = "adder"  # carry-propagate adders and incrementers
    MULTIPLIER = "multiplier"  # partial-product generation and reduction trees (glitch-prone)
    SHIFTER = "shifter"  # barrel shifters and swap multiplexers
    CONTROL = "control"  # leading-zero counting, sticky/round decisions, exponent logic
    REGISTER = "register"  # flip-flops (clocked every cycle)


@cache
def cell_ge() -> Mapping[str, float]:
    """Gate equivalents of each standard cell: its area over the area of a NAND2 (loaded once)."""
    text = resources.files("hwmodels.data").joinpath("cells.csv").read_text()
    rows = {r["cell"]: float(r["area_um2_45nm"]) for r in csv.DictReader(text.splitlines())}
    return {cell: area / rows["nand2"] for cell, area in rows.items()}


@dataclass(frozen=True, slots=True)
class Component:
    """One datapath block.

    Attributes:
        name: What it is (``"dadda multiplier 8x8"``).
        role: Its role, which sets its switching activity.
        cells: Standard-cell counts (``{"fa": 35, "ha": 7, "and2": 64}``).
        formula: The count in symbols, for reports and docs.
        source: Where the formula comes from.
        duty: Fraction of operations in which the block switches at all (1.0: every one). Below
            1 only for a block that serves one case of the operands (the near path of a
            dual-path FP adder, subnormal or special-value handling) and is held still by
            operand isolation otherwise; the value is that case's probability
            (:mod:`hwmodels.operands`), never a tuned number. Energy scales with it, area does not.
    """

    name: str
    role: Role
    cells: Mapping[str, float] = field(default_factory=dict)
    formula: str = ""
    source: str = ""
    duty: float = 1.0

    @property
    def gates(self) -> float:
        """Size in gate equivalents (NAND2 areas)."""
        ge = cell_ge()
        return sum(n * ge[c] for c, n in self.cells.items())

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": str(self.role),
            "gates": round(self.gates, 1),
            "cells": dict(self.cells),
            "formula": self.formula,
            "source": self.source,
            "duty": round(self.duty, 4),
        }


_WH = "Weste & Harris, CMOS VLSI Design 4e, sec. 11.2 (adders)"
_PARHAMI = "Parhami, Computer Arithmetic 2e"


def _check_width(what: str, n: int) -> None:
    if n < 1:
        raise EstimateError(f"{what} needs a width of at least 1 bit, got {n}")


def _clog2(n: int) -> int:
    return max(1, ceil(log2(n))) if n > 1 else 0


def _add_cells(cells: dict[str, float], block: Component) -> dict[str, float]:
    """``cells`` with ``block``'s cell counts added (in place; returned for chaining)."""
    for cell, count in block.cells.items():
        cells[cell] = cells.get(cell, 0) + count
    return cells


def _cpa(bits: int, style: str) -> Component:
    """A final carry-propagate adder: ``"ripple"`` or a prefix style."""
    return ripple_adder(bits) if style == "ripple" else prefix_adder(bits, style)


def half_adder() -> Component:
    """Half adder: XOR for the sum, AND for the carry (one HA cell)."""
    return Component("half adder", Role.ADDER, {"ha": 1}, "1 HA = XOR2 + AND2", _WH)


def full_adder() -> Component:
    """Full adder: 2 XOR + 2 AND + 1 OR, about 5 gates (one FA cell)."""
    return Component("full adder", Role.ADDER, {"fa": 1}, "1 FA = 2 XOR2 + 2 AND2 + OR2", _WH)


def ripple_adder(n: int, role: Role = Role.ADDER) -> Component:
    """n-bit ripple-carry adder: a chain of n full adders (with carry-in)."""
    _check_width("ripple adder", n)
    return Component(f"ripple adder {n}b", role, {"fa": n}, f"n FA, n={n}", _WH)


def incrementer(n: int, role: Role = Role.ADDER) -> Component:
    """n-bit incrementer (add 0 or 1): a chain of n half adders."""
    _check_width("incrementer", n)
    return Component(f"incrementer {n}b", role, {"ha": n}, f"n HA, n={n}", _WH)


def prefix_adder(n: int, style: str = "kogge-stone") -> Component:
    """n-bit parallel-prefix adder.

    Generate/propagate per bit (AND2 + XOR2), a prefix tree of black cells (AOI21 + AND2) and a
    sum XOR per bit. Kogge-Stone has ``n*log2(n) - n + 1`` cells, Sklansky ``(n/2)*log2(n)``
    (Harris, "A taxonomy of parallel prefix networks", Asilomar 2003).
    """
    _check_width("prefix adder", n)
    levels = _clog2(n)
    trees = {"kogge-stone": n * levels - n + 1, "sklansky": (n // 2) * levels}
    if style not in trees:
        raise EstimateError(f"unknown prefix-adder style {style!r}; expected one of {list(trees)}")
    black = max(trees[style], 0)
    return Component(
        f"{style} adder {n}b",
        Role.ADDER,
        {"and2": n + black, "xor2": 2 * n, "aoi21": black},
        f"pg: n(AND2+XOR2); tree: {black} x (AOI21+AND2); sum: n XOR2, n={n}",
        "Harris, A taxonomy of parallel prefix networks, Asilomar 2003",
    )


def array_multiplier(n: int, m: int | None = None) -> Component:
    """n x m array multiplier: n*m AND partial products and n(m-1) full adders in rows."""
    m = n if m is None else m
    _check_width("multiplier", min(n, m))
    return Component(
        f"array multiplier {n}x{m}",
        Role.MULTIPLIER,
        {"and2": n * m, "fa": n * (m - 1)},
        f"n*m AND2 + n(m-1) FA, n={n}, m={m}",
        _PARHAMI + ", sec. 11.1 (array multipliers)",
    )


def _reduce_columns(heights: list[int], style: str) -> tuple[int, int]:
    """Reduce partial-product column heights to two rows; return (full adders, half adders).

    Dadda reduces each stage only to the next height in 2, 3, 4, 6, 9, 13, ... (d_{j+1} =
    floor(1.5 d_j)); Wallace puts a full adder on every group of three bits and a half adder on a
    leftover pair at every stage. Carries land in the next column of the next stage.
    """
    fas = has = 0
    limits = [2]
    while limits[-1] < max(heights):
        limits.append(limits[-1] * 3 // 2)
    cols = list(heights)
    stage_targets = list(reversed(limits[:-1]))
    while max(cols) > 2:
        target = stage_targets.pop(0) if stage_targets else 2
        new = [0] * (len(cols) + 1)
        carry_in = 0
        for i, h in enumerate(cols):
            if style == "dadda":
                f = hh = 0
                while h - 2 * f - hh + carry_in > target:
                    if h - 2 * f - hh + carry_in - target >= 2 and h - 3 * f - 2 * hh >= 3:
                        f += 1
                    else:
                        hh += 1
            else:
                f, rest = divmod(h, 3)
                hh = 1 if rest == 2 else 0
            fas += f
            has += hh
            new[i] = h - 2 * f - hh + carry_in
            carry_in = f + hh
        new[len(cols)] = carry_in
        cols = new if new[-1] else new[:-1]
    return fas, has


def tree_multiplier(
    n: int, m: int | None = None, style: str = "dadda", cpa: str = "ripple"
) -> Component:
    """n x m Dadda or Wallace multiplier: AND partial products, a counter tree, a final CPA.

    Counter counts come from reducing the column heights of the partial-product array stage by
    stage (Dadda 1965, Wallace 1964); for n x n Dadda that is n^2 - 4n + 3 FA and n - 1 HA
    (Townsend, Swartzlander & Abraham, SPIE 2003). The final two rows meet in a
    ``(n + m - 2)``-bit carry-propagate adder: ``"ripple"`` or a prefix style (``"kogge-stone"``).
    """
    m = n if m is None else m
    _check_width("multiplier", min(n, m))
    if style not in ("dadda", "wallace"):
        raise EstimateError(f"unknown multiplier style {style!r}; expected 'dadda' or 'wallace'")
    heights = [min(i + 1, n, m, n + m - 1 - i) for i in range(n + m - 1)]
    fas, has = _reduce_columns(heights, style)
    cpa_bits = max(n + m - 2, 1) if min(n, m) > 1 else 0
    cells: dict[str, float] = {"and2": n * m, "fa": fas, "ha": has}
    if cpa_bits:
        _add_cells(cells, _cpa(cpa_bits, cpa))
    return Component(
        f"{style} multiplier {n}x{m}",
        Role.MULTIPLIER,
        cells,
        f"n*m AND2 + {fas} FA + {has} HA (tree) + {cpa_bits}-bit {cpa} CPA",
        "Dadda 1965 / Wallace 1964; counts per Townsend et al., SPIE 5205 (2003)",
    )


MULTIPLIER_STYLES: tuple[str, ...] = ("array", "dadda", "wallace")


def multiplier(
    n: int, m: int | None = None, style: str = "dadda", cpa: str = "ripple"
) -> Component:
    """Any multiplier style by name: ``"array"``, ``"dadda"`` or ``"wallace"``."""
    if style == "array":
        return array_multiplier(n, m)
    return tree_multiplier(n, m, style, cpa)


def exponent_adder(e: int) -> Component:
    """Adds two e-bit biased exponents and removes one bias: (e+1)-bit ripple adder, then a
    constant subtraction done by an (e+2)-bit half-adder chain (constant operand)."""
    _check_width("exponent adder", e)
    return Component(
        f"exponent adder {e}b",
        Role.CONTROL,
        {"fa": e + 1, "ha": e + 2},
        f"(e+1) FA + (e+2) HA, e={e}",
        _PARHAMI + ", sec. 18.3 (FP multiplication)",
    )


def barrel_shifter(width: int, max_shift: int, name: str = "barrel shifter") -> Component:
    """Logarithmic shifter: ``ceil(log2(max_shift + 1))`` stages of ``width`` 2:1 multiplexers."""
    _check_width(name, width)
    stages = _clog2(max_shift + 1)
    return Component(
        f"{name} {width}b/{max_shift}",
        Role.SHIFTER,
        {"mux2": width * stages},
        f"w*ceil(log2(s+1)) MUX2, w={width}, s={max_shift}",
        _WH.replace("11.2 (adders)", "11.8 (shifters)"),
    )


def leading_zero_counter(n: int) -> Component:
    """Leading-zero counter as a binary tree (Oklobdzija, IEEE TVLSI 2(1), 1994).

    Level 1 encodes bit pairs (OR2 valid + INV count); each node of level k >= 2 merges two
    halves: an OR2 for the valid flag and (k-1) MUX2 to pick the low count bits.
    """
    _check_width("leading-zero counter", n)
    levels = _clog2(n)
    or2 = inv = mux = 0
    for k in range(1, levels + 1):
        nodes = ceil(n / 2**k)
        or2 += nodes
        if k == 1:
            inv += nodes
        else:
            mux += nodes * (k - 1)
    return Component(
        f"leading-zero counter {n}b",
        Role.CONTROL,
        {"or2": or2, "inv": inv, "mux2": mux},
        f"sum_k ceil(n/2^k) (OR2 + (k-1) MUX2), n={n}",
        "Oklobdzija, An algorithmic and novel design of a leading zero detector, TVLSI 1994",
    )


def sticky_or(n: int) -> Component:
    """OR-reduction of the bits shifted out during alignment: n - 1 OR2."""
    return Component(
        f"sticky OR {n}b",
        Role.CONTROL,
        {"or2": max(n - 1, 0)},
        f"(n-1) OR2, n={n}",
        _PARHAMI + ", sec. 18.2 (rounding)",
    )


def rounding(n: int) -> Component:
    """Round to nearest even of an n-bit significand: decision logic (guard AND (round OR sticky
    OR lsb): 3 gates) and an n-bit incrementer."""
    _check_width("rounding", n)
    return Component(
        f"round-to-nearest-even {n}b",
        Role.ADDER,
        {"ha": n, "and2": 1, "or2": 2},
        f"n HA + AND2 + 2 OR2, n={n}",
        _PARHAMI + ", sec. 17.5 (rounding)",
    )


def conditional_negate(n: int) -> Component:
    """Two's-complement negation on demand: n XOR2 (the +1 enters as a carry-in downstream)."""
    return Component(f"conditional negate {n}b", Role.CONTROL, {"xor2": n}, f"n XOR2, n={n}", _WH)


def register(n: int, name: str = "register") -> Component:
    """n-bit register: n D flip-flops."""
    _check_width(name, n)
    return Component(f"{name} {n}b", Role.REGISTER, {"dff": n}, f"n DFF, n={n}", _WH)


def swap_mux(n: int) -> Component:
    """Operand swap so the larger exponent goes first: 2n MUX2."""
    return Component(f"swap {n}b", Role.SHIFTER, {"mux2": 2 * n}, f"2n MUX2, n={n}", _PARHAMI)


def mux_row(n: int, name: str, role: Role = Role.SHIFTER, duty: float = 1.0) -> Component:
    """A row of n 2:1 multiplexers (a select between two n-bit words)."""
    _check_width(name, n)
    return Component(f"{name} {n}b", role, {"mux2": n}, f"n MUX2, n={n}", _WH, duty)


def and_row(n: int, name: str = "operand isolation", duty: float = 1.0) -> Component:
    """n AND2 gating a block's inputs so it holds still when its result is not needed (operand
    isolation, Correale, ISLPED 1995)."""
    _check_width(name, n)
    return Component(
        f"{name} {n}b",
        Role.CONTROL,
        {"and2": n},
        f"n AND2, n={n}",
        "Correale, Overview of the power minimization techniques employed in the IBM PowerPC 4xx "
        "embedded controllers, ISLPED 1995 (operand isolation)",
        duty,
    )


def compound_adder(n: int, style: str = "kogge-stone", duty: float = 1.0) -> Component:
    """n-bit compound adder: a prefix adder that delivers both ``a + b`` and ``a + b + 1``.

    The prefix tree already holds each bit's group generate G and propagate P, so the +1 carries
    are ``G + P`` (one OR2 per bit) and the second sum one XOR2 per bit (Tyagi, A reduced-area
    scheme for carry-select adders, IEEE TC 1993; used for rounding and end-around subtraction in
    Seidel & Even, Delay-optimized implementation of IEEE FP addition, IEEE TC 2004).
    """
    base = prefix_adder(n, style)
    cells = dict(base.cells)
    cells["or2"] = cells.get("or2", 0) + n
    cells["xor2"] += n
    return Component(
        f"compound {style} adder {n}b",
        Role.ADDER,
        cells,
        f"{style} adder + n(OR2 + XOR2) for sum+1, n={n}",
        "Tyagi, IEEE TC 42(10), 1993; Seidel & Even, IEEE TC 53(2), 2004",
        duty,
    )


def leading_zero_anticipator(n: int, duty: float = 1.0) -> Component:
    """Leading-zero anticipator for an n-bit subtraction (Schmookler & Nowka, Proc. ARITH-15,
    2001): per bit ``g = a.~b`` (AND2), ``z = ~a.~b`` (NOR2) and the indicator
    ``f_i = t_{i-1}(g_i ~z_{i+1} + z_i ~g_{i+1}) + ~t_{i-1}(z_i ~z_{i+1} + g_i ~g_{i+1})``
    (two AOI22 and a MUX2; ``t`` is the adder's propagate, shared), then a leading-zero counter
    over the indicator string. The one-bit error it may leave is fixed by a one-position
    compensation shift (a separate row of muxes)."""
    _check_width("leading-zero anticipator", n)
    lzc = leading_zero_counter(n)
    cells = _add_cells({"and2": n, "nor2": n, "aoi22": 2 * n, "mux2": n}, lzc)
    return Component(
        f"leading-zero anticipator {n}b",
        Role.CONTROL,
        cells,
        f"n(AND2 + NOR2 + 2 AOI22 + MUX2) + LZC(n), n={n}",
        "Schmookler & Nowka, Leading zero anticipation and detection, Proc. ARITH-15, 2001",
        duty,
    )


def booth_rows(n: int, m: int, signed: bool = False) -> int:
    """Partial products of a radix-4 (modified) Booth multiplier with an m-bit multiplier:
    ``ceil(m/2)`` for two's complement, ``floor(m/2) + 1`` unsigned (a zero is appended on top)."""
    _check_width("Booth multiplier", min(n, m))
    return ceil(m / 2) if signed else m // 2 + 1


def booth_multiplier(
    n: int, m: int | None = None, signed: bool = False, cpa: str = "ripple"
) -> Component:
    """n x m radix-4 (modified) Booth multiplier with a Dadda tree and a final CPA.

    Each multiplier digit in {-2..2} has an encoder (single, double, negate: 2 XOR2 + AND2) and
    selects an (n+1)-bit row, one AOI22 + XNOR2 per bit (Weste & Harris 4e, sec. 11.9.3). Sign
    extension is cut to 3 bits on the first row and 2 on the others (``~s s s`` / ``1 ~s``), and
    each row's negate bit enters the lowest column of its row; the resulting column heights are
    reduced like any Dadda array (MacSorley, Proc. IRE 1961; Bewick, Stanford PhD 1994).
    """
    m = n if m is None else m
    rows = booth_rows(n, m, signed)
    width = n + m
    heights = [0] * width
    for i in range(rows):
        extra = 3 if i == 0 else 2
        for col in range(2 * i, min(2 * i + n + 1 + extra, width)):
            heights[col] += 1
        heights[2 * i] += 1  # negate bit (+1 of the two's complement)
    heights = [h for h in heights if h] or [1]
    fas, has = _reduce_columns(heights, "dadda")
    sel = rows * (n + 1)
    cells: dict[str, float] = {
        "xor2": 2 * rows,
        "and2": rows,
        "aoi22": sel,
        "xnor2": sel,
        "fa": fas,
        "ha": has,
    }
    cpa_bits = width - 1
    _add_cells(cells, _cpa(cpa_bits, cpa))
    return Component(
        f"radix-4 Booth multiplier {n}x{m}",
        Role.MULTIPLIER,
        cells,
        f"{rows} rows x (n+1) (AOI22+XNOR2) + {rows} encoders + {fas} FA + {has} HA + "
        f"{cpa_bits}-bit {cpa} CPA",
        "MacSorley, Proc. IRE 1961; Weste & Harris 4e sec. 11.9.3; Dadda 1965",
    )


def special_values(exp_bits: int, man_bits: int) -> Component:
    """IEEE 754 operand classification for two operands: per operand, exponent all ones (E-1
    AND2), exponent zero (E-1 OR2), fraction zero (M-1 OR2) and the NaN/Inf/zero decode (3 AND2);
    6 gates decide the special result (NaN, Inf, zero, invalid flag)."""
    _check_width("special-value logic", exp_bits)
    per_operand_and = exp_bits - 1 + 3
    per_operand_or = exp_bits - 1 + max(man_bits - 1, 0)
    return Component(
        f"special values E{exp_bits}M{man_bits}",
        Role.CONTROL,
        {"and2": 2 * per_operand_and + 3, "or2": 2 * per_operand_or + 3},
        f"2((E+2) AND2 + (E+M-2) OR2) + 6, E={exp_bits}, M={man_bits}",
        "IEEE 754-2019 sec. 6 (infinity, NaN, signed zero); Parhami sec. 18.5",
    )
