"""Process nodes as data: cell area, energy per gate, SRAM and off-chip energy per byte, leakage.

Tables live in ``data/nodes.toml`` (45 nm: Horowitz ISSCC 2014 and the Nangate 45 nm library;
7 nm: Jouppi et al. TPUv4i ISCA 2021). A node's energy per gate equivalent is one scalar fitted
(geometric mean of published / modelled) to that node's per-operation energies.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise

from hwmodels.activity import switched_ge
from hwmodels.errors import UnknownNodeError
from hwmodels.operators import operator


@dataclass(frozen=True, slots=True)
class ReferenceOp:
    """One published per-operation figure (``data/reference_ops.csv``)."""

    reference: str
    op: str
    fmt: str
    energy_pj: float
    area_um2: float | None
    source: str


@dataclass(frozen=True, slots=True)
class ProcessNode:
    """Per-node constants.

    Attributes:
        name: ``"45nm"`` or ``"7nm"``.
        um2_per_ge: Area of one gate equivalent (a NAND2), um^2.
        pj_per_ge: Energy per gate equivalent per operation at activity 1, pJ (fitted).
        sram_kb / sram_pj_per_byte: SRAM energy per byte by array size (interpolated).
        dram_pj_per_byte / flash_pj_per_byte: Off-chip energy per byte.
        leakage_nw_per_ge: Static power per gate equivalent, nW.
        reference: Name of the per-operation table the energy was fitted to.
        sources: Field -> where its value comes from.
    """

    name: str
    um2_per_ge: float
    pj_per_ge: float
    sram_kb: tuple[float, ...]
    sram_pj_per_byte: tuple[float, ...]
    dram_pj_per_byte: float
    flash_pj_per_byte: float
    leakage_nw_per_ge: float
    reference: str
    sources: Mapping[str, str]

    def sram_pj_per_byte_at(self, size_kb: float) -> float:
        """SRAM energy per byte for an array of ``size_kb``, log-log interpolated (clamped)."""
        xs, ys = self.sram_kb, self.sram_pj_per_byte
        if size_kb <= xs[0]:
            return ys[0]
        if size_kb >= xs[-1]:
            return ys[-1]
        for (x0, y0), (x1, y1) in pairwise(zip(xs, ys, strict=True)):
            if size_kb <= x1:
                t = math.log(size_kb / x0) / math.log(x1 / x0)
                return y0 * (y1 / y0) ** t
        return ys[-1]  # unreachable: size_kb < xs[-1] here


def _data(name: str) -> str:
    return resources.files("hwmodels.data").joinpath(name).read_text()


@cache
def reference_ops() -> tuple[ReferenceOp, ...]:
    """Every published per-operation figure, loaded once."""
    rows = csv.DictReader(_data("reference_ops.csv").splitlines())
    return tuple(
        ReferenceOp(
            r["reference"],
            r["op"],
            r["format"],
            float(r["energy_pj"]),
            float(r["area_um2"]) if r["area_um2"] else None,
            r["source"],
        )
        for r in rows
    )


def _fit_pj_per_ge(reference: str, ops: Sequence[ReferenceOp]) -> float:
    logs = [math.log(r.energy_pj / switched_ge(operator(r.op, r.fmt))) for r in ops]
    if not logs:
        raise UnknownNodeError(f"no reference operations named {reference!r} in reference_ops.csv")
    return math.exp(sum(logs) / len(logs))


@cache
def nodes() -> Mapping[str, ProcessNode]:
    """All process nodes, loaded and fitted once."""
    table = tomllib.loads(_data("nodes.toml"))["nodes"]
    out: dict[str, ProcessNode] = {}
    for name, row in table.items():
        ref = row["reference"]
        ops = [r for r in reference_ops() if r.reference == ref]
        out[name] = ProcessNode(
            name=name,
            um2_per_ge=row["um2_per_ge"],
            pj_per_ge=_fit_pj_per_ge(ref, ops),
            sram_kb=tuple(row["sram_kb"]),
            sram_pj_per_byte=tuple(e / 8 for e in row["sram_pj_per_64b"]),
            dram_pj_per_byte=row["dram_pj_per_64b"] / 8,
            flash_pj_per_byte=row["flash_pj_per_64b"] / 8,
            leakage_nw_per_ge=row["leakage_nw_per_ge"],
            reference=ref,
            sources={k: v for k, v in row.items() if k.endswith("source")},
        )
    return out


def get_node(name: str) -> ProcessNode:
    """Look a node up by name (``"7nm"``, ``"7"``, ``"45 nm"``), raising if unknown."""
    key = name.strip().lower().replace(" ", "")
    key = key if key.endswith("nm") else key + "nm"
    table = nodes()
    try:
        return table[key]
    except KeyError:
        raise UnknownNodeError(
            f"unknown process node {name!r}; expected one of: {', '.join(table)}"
        ) from None
