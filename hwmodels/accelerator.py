"""Analytic accelerator: a MAC array, on-chip SRAM and off-chip memory, costed layer by layer.

A layer takes ``cycles = max(compute, memory)`` (Vela's roofline habit): compute from its MACs
over the array's used MACs (reduction mapped onto rows, output channels onto columns, as a
weight-stationary systolic array; SCALE-Sim, Samajdar et al. 2018), memory from off-chip bytes
over bandwidth (and SRAM bytes over SRAM bandwidth where the config bounds it). Energy = MACs x
pJ/MAC + SRAM and off-chip bytes x pJ/byte + leakage x time.

Two families of config: :data:`PRESETS`, one MAC array of equal area per number format (the
format what-ifs), and :data:`ETHOSU_SYSTEMS`, rooflines of the Arm Ethos-U systems that the
dataset's Vela labels are compiled for (the predictor's per-target analytic priors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from math import isqrt
from typing import Self

from hwmodels.errors import EstimateError, UnknownAcceleratorError
from hwmodels.formats import get_format
from hwmodels.mac import mac_unit
from hwmodels.nodes import get_node
from hwmodels.work import MAC_KINDS, LayerWork, OpKind

OFFCHIP_KINDS: tuple[str, ...] = ("dram", "flash")


@dataclass(frozen=True, slots=True)
class AcceleratorConfig:
    """An accelerator built around one MAC array.

    Attributes:
        name: Preset name (``"npu-int8"``).
        fmt: Number format of weights and activations.
        rows: MAC array rows (reduction dimension).
        cols: MAC array columns (output channels); also the vector unit's lanes.
        acc: Accumulator (``None``: the format's default, see :func:`hwmodels.mac.mac_unit`).
        node: Process node.
        clock_mhz: Clock, MHz.
        sram_kb: On-chip SRAM, KiB.
        offchip_gbps: Off-chip bandwidth, GB/s (1e9 bytes/s).
        offchip_kind: ``"dram"`` or ``"flash"``: sets the off-chip energy per byte.
        leakage_mw: Static power, mW (``None``: the MAC array's gates x the node's leakage).
        sram_gbps: On-chip SRAM bandwidth, GB/s (``None``: SRAM never limits).
        vector_lanes: Non-MAC operations per cycle (``None``: ``cols``).
    """

    name: str
    fmt: str
    rows: int
    cols: int
    acc: str | None = None
    node: str = "7nm"
    clock_mhz: float = 1000.0
    sram_kb: float = 1024.0
    offchip_gbps: float = 8.0
    offchip_kind: str = "dram"
    leakage_mw: float | None = None
    sram_gbps: float | None = None
    vector_lanes: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class LayerCost:
    """Cost of one layer (or, summed, of several: ``total += layer``).

    Attributes:
        name: Layer label.
        macs: Multiply-accumulates.
        compute_cycles / memory_cycles: The two sides of the roofline (memory: the slower of
            off-chip and SRAM traffic).
        cycles: ``max(compute_cycles, memory_cycles)``.
        utilisation: Share of the array's MACs doing useful work during compute.
        latency_ms: Time, ms.
        mac_mj / sram_mj / offchip_mj / static_mj: Energy split, mJ.
        sram_kb: SRAM working set (peak when summed), KiB.
        weight_kb: Weight storage, KiB.
        bound: ``"compute"`` or ``"memory"`` (``"mixed"`` for sums).
    """

    name: str
    macs: int = 0
    compute_cycles: float = 0.0
    memory_cycles: float = 0.0
    cycles: float = 0.0
    utilisation: float = 0.0
    latency_ms: float = 0.0
    mac_mj: float = 0.0
    sram_mj: float = 0.0
    offchip_mj: float = 0.0
    static_mj: float = 0.0
    sram_kb: float = 0.0
    weight_kb: float = 0.0
    bound: str = "compute"

    @property
    def energy_mj(self) -> float:
        return self.mac_mj + self.sram_mj + self.offchip_mj + self.static_mj

    def __iadd__(self, other: LayerCost) -> Self:
        self.macs += other.macs
        self.compute_cycles += other.compute_cycles
        self.memory_cycles += other.memory_cycles
        self.cycles += other.cycles
        self.latency_ms += other.latency_ms
        self.mac_mj += other.mac_mj
        self.sram_mj += other.sram_mj
        self.offchip_mj += other.offchip_mj
        self.static_mj += other.static_mj
        self.sram_kb = max(self.sram_kb, other.sram_kb)
        self.weight_kb += other.weight_kb
        if self.bound != other.bound:
            self.bound = "mixed"
        return self

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "macs": self.macs,
            "cycles": round(self.cycles),
            "compute_cycles": round(self.compute_cycles),
            "memory_cycles": round(self.memory_cycles),
            "utilisation": round(self.utilisation, 4),
            "latency_ms": self.latency_ms,
            "energy_mj": self.energy_mj,
            "mac_mj": self.mac_mj,
            "sram_mj": self.sram_mj,
            "offchip_mj": self.offchip_mj,
            "static_mj": self.static_mj,
            "sram_kb": round(self.sram_kb, 3),
            "weight_kb": round(self.weight_kb, 3),
            "bound": self.bound,
        }


@dataclass(slots=True)
class ModelCost:
    """Cost of a whole model on one accelerator: per-layer costs and their sum."""

    accelerator: AcceleratorConfig
    layers: list[LayerCost] = field(default_factory=list)
    total: LayerCost = field(default_factory=lambda: LayerCost("total"))

    @property
    def latency_ms(self) -> float:
        return self.total.latency_ms

    @property
    def energy_mj(self) -> float:
        return self.total.energy_mj

    @property
    def peak_sram_kb(self) -> float:
        return self.total.sram_kb

    @property
    def weight_kb(self) -> float:
        return self.total.weight_kb

    @property
    def cycles(self) -> float:
        return self.total.cycles

    def to_dict(self, layers: bool = True) -> dict[str, object]:
        out: dict[str, object] = {
            "accelerator": self.accelerator.name,
            "config": self.accelerator.to_dict(),
            "latency_ms": self.latency_ms,
            "energy_mj": self.energy_mj,
            "peak_sram_kb": round(self.peak_sram_kb, 3),
            "weight_kb": round(self.weight_kb, 3),
            "total": self.total.to_dict(),
        }
        if layers:
            out["layers"] = [lc.to_dict() for lc in self.layers]
        return out


@dataclass(frozen=True, slots=True)
class _Constants:
    """Per-accelerator numbers precomputed once, so :func:`estimate` is arithmetic only."""

    rows: int
    cols: int
    bytes_per_elem: float
    mac_mj: float
    sram_mj_per_byte: float
    offchip_mj_per_byte: float
    offchip_bytes_per_cycle: float
    ms_per_cycle: float
    static_mw: float
    sram_bytes: float
    sram_bytes_per_cycle: float
    lanes: int


def _validate(a: AcceleratorConfig) -> None:
    for attr in ("rows", "cols", "clock_mhz", "sram_kb", "offchip_gbps"):
        if not getattr(a, attr) > 0:
            raise EstimateError(
                f"accelerator {a.name!r}: {attr} must be > 0, got {getattr(a, attr)}"
            )
    if a.offchip_kind not in OFFCHIP_KINDS:
        raise EstimateError(
            f"accelerator {a.name!r}: offchip_kind must be one of {list(OFFCHIP_KINDS)}, "
            f"got {a.offchip_kind!r}"
        )
    for attr in ("sram_gbps", "vector_lanes"):
        if getattr(a, attr) is not None and not getattr(a, attr) > 0:
            raise EstimateError(
                f"accelerator {a.name!r}: {attr} must be > 0 or None, got {getattr(a, attr)}"
            )
    if a.leakage_mw is not None and a.leakage_mw < 0:
        raise EstimateError(f"accelerator {a.name!r}: leakage_mw must be >= 0, got {a.leakage_mw}")


@lru_cache(maxsize=64)
def _constants(a: AcceleratorConfig) -> _Constants:
    _validate(a)
    fmt = get_format(a.fmt)
    node = get_node(a.node)
    mac = mac_unit(fmt.name, a.acc, node.name)
    pj_offchip = node.dram_pj_per_byte if a.offchip_kind == "dram" else node.flash_pj_per_byte
    leak_mw = (
        a.leakage_mw
        if a.leakage_mw is not None
        else a.rows * a.cols * mac.gates * node.leakage_nw_per_ge * 1e-6
    )
    return _Constants(
        rows=a.rows,
        cols=a.cols,
        bytes_per_elem=fmt.bytes_per_elem,
        mac_mj=mac.energy_pj * 1e-9,
        sram_mj_per_byte=node.sram_pj_per_byte_at(a.sram_kb) * 1e-9,
        offchip_mj_per_byte=pj_offchip * 1e-9,
        offchip_bytes_per_cycle=a.offchip_gbps * 1e3 / a.clock_mhz,
        ms_per_cycle=1e-3 / a.clock_mhz,
        static_mw=leak_mw,
        sram_bytes=a.sram_kb * 1024,
        sram_bytes_per_cycle=(
            a.sram_gbps * 1e3 / a.clock_mhz if a.sram_gbps is not None else float("inf")
        ),
        lanes=a.vector_lanes if a.vector_lanes is not None else a.cols,
    )


def _layer_cost(w: LayerWork, k: _Constants) -> LayerCost:
    bpe = k.bytes_per_elem
    weight_b = w.weight_elems * bpe
    in_b = w.input_elems * bpe
    out_b = w.output_elems * bpe
    col_folds = 1
    if w.macs and w.op_kind in MAC_KINDS:  # the rest run on the vector unit
        # Reduction on rows, output channels on columns; a depthwise layer reduces only over
        # its window and maps channels onto columns.
        red = w.reduction or (w.macs // w.output_elems if w.output_elems else w.macs) or 1
        if w.op_kind is OpKind.DEPTHWISE:
            red = max(w.kernel_hw[0] * w.kernel_hw[1], 1)
        out_ch = w.out_channels or 1
        row_folds = -(-red // k.rows)
        col_folds = -(-out_ch // k.cols)
        util = (red / (row_folds * k.rows)) * (out_ch / (col_folds * k.cols))
        compute = w.macs * row_folds * col_folds / (red * out_ch)  # = MACs / (rows*cols*util)
    else:
        util = 0.0
        compute = (w.elem_ops + w.macs) / k.lanes
    # Weights stream from off-chip once; activations spill off-chip when they do not fit.
    working = weight_b + in_b + out_b
    offchip_b = weight_b + (in_b + out_b if in_b + out_b > k.sram_bytes else 0.0)
    # SRAM: weights written then read, inputs read once per column fold, outputs written.
    sram_b = 2 * weight_b + in_b * col_folds + out_b
    memory = max(offchip_b / k.offchip_bytes_per_cycle, sram_b / k.sram_bytes_per_cycle)
    cycles = max(compute, memory, 1.0)
    latency_ms = cycles * k.ms_per_cycle
    return LayerCost(
        name=w.name,
        macs=w.macs,
        compute_cycles=compute,
        memory_cycles=memory,
        cycles=cycles,
        utilisation=util,
        latency_ms=latency_ms,
        mac_mj=(w.macs + w.elem_ops) * k.mac_mj,
        sram_mj=sram_b * k.sram_mj_per_byte,
        offchip_mj=offchip_b * k.offchip_mj_per_byte,
        static_mj=k.static_mw * latency_ms * 1e-3,
        sram_kb=min(working, k.sram_bytes) / 1024,
        weight_kb=weight_b / 1024,
        bound="compute" if compute >= memory else "memory",
    )


def estimate(layers: Sequence[LayerWork], accel: AcceleratorConfig | str) -> ModelCost:
    """Cost every layer on ``accel`` (a config or a preset name) and sum them."""
    config = get_accelerator(accel) if isinstance(accel, str) else accel
    k = _constants(config)
    total = LayerCost("total")
    costs = []
    for w in layers:
        if (
            w.macs < 0
            or w.elem_ops < 0
            or w.weight_elems < 0
            or w.input_elems < 0
            or w.output_elems < 0
        ):
            raise EstimateError(f"layer {w.name!r}: element counts must be >= 0, got {w}")
        c = _layer_cost(w, k)
        costs.append(c)
        total += c
    if costs and total.compute_cycles:
        total.utilisation = (
            sum(c.utilisation * c.compute_cycles for c in costs) / total.compute_cycles
        )
    return ModelCost(config, costs, total)


# Presets: one silicon budget for the MAC array, so formats compare at equal area.
ARRAY_AREA_MM2 = 0.25
_PRESET_FORMATS: Mapping[str, str] = {
    "npu-int4": "int4",
    "npu-int8": "int8",
    "npu-fp8-e4m3": "fp8-e4m3",
    "npu-fp8-e5m2": "fp8-e5m2",
    "npu-fp16": "fp16",
    "npu-bf16": "bf16",
}


def equal_area_array(
    fmt: str, area_mm2: float = ARRAY_AREA_MM2, node: str = "7nm", acc: str | None = None
) -> tuple[int, int]:
    """Array shape (rows, cols) that fits ``area_mm2`` of MAC units: rows a power of two near
    the square root of the MAC count, columns filling the rest."""
    n_macs = int(area_mm2 * 1e6 // mac_unit(fmt, acc, node).area_um2)
    if n_macs < 1:
        raise EstimateError(f"{area_mm2} mm^2 holds no {fmt} MAC at {node}")
    rows = 1 << (isqrt(n_macs).bit_length() - 1)
    return rows, n_macs // rows


def _build_presets() -> dict[str, AcceleratorConfig]:
    out = {}
    for name, fmt in _PRESET_FORMATS.items():
        rows, cols = equal_area_array(fmt)
        out[name] = AcceleratorConfig(name=name, fmt=fmt, rows=rows, cols=cols)
    return out


PRESETS: dict[str, AcceleratorConfig] = _build_presets()

# Rooflines of the Ethos-U systems in Vela 5.2's Arm/vela.ini that dataset/targets.py compiles
# for. MAC array: Vela's ArchitectureConfig (dot products 8 deep on rows; OFM micro-block x 8
# channels on columns), elementwise units as vector lanes; U85's (not in Vela's Python tables)
# scaled from U65's. Bandwidth = AXI bytes/cycle (U55 8, U65/U85 16; Vela architecture_features)
# x ports x the system config's clock scale. The U55's Shared_Sram mode keeps the whole arena in
# SRAM (bounded only by its 32-bit address space), weights in flash; U65/U85 run
# Dedicated_Sram_384KB: a 384 KB SRAM, weights and what does not fit in DRAM.
_ETHOSU_NODE = "45nm"  # as hwmodels.ethosu prices Ethos-U energy
ETHOSU_SYSTEMS: dict[str, AcceleratorConfig] = {
    a.name: a
    for a in (
        AcceleratorConfig(
            name="ethos-u55-128", fmt="int8", acc="int32", rows=8, cols=16, node=_ETHOSU_NODE,
            clock_mhz=500.0, sram_kb=4.0 * 1024**2, offchip_gbps=0.5, offchip_kind="flash",
            sram_gbps=4.0, vector_lanes=4,
        ),
        AcceleratorConfig(
            name="ethos-u65-256", fmt="int8", acc="int32", rows=8, cols=32, node=_ETHOSU_NODE,
            clock_mhz=1000.0, sram_kb=384.0, offchip_gbps=3.75, offchip_kind="dram",
            sram_gbps=16.0, vector_lanes=8,
        ),
        AcceleratorConfig(
            name="ethos-u85-512", fmt="int8", acc="int32", rows=8, cols=64, node=_ETHOSU_NODE,
            clock_mhz=1000.0, sram_kb=384.0, offchip_gbps=12.0, offchip_kind="dram",
            sram_gbps=32.0, vector_lanes=16,
        ),
    )
}
#: Every config :func:`get_accelerator` knows by name.
ACCELERATORS: dict[str, AcceleratorConfig] = {**PRESETS, **ETHOSU_SYSTEMS}


def get_accelerator(name: str) -> AcceleratorConfig:
    """Look a preset or an Ethos-U system up by name, raising if unknown."""
    try:
        return ACCELERATORS[name.strip().lower()]
    except KeyError:
        raise UnknownAcceleratorError(
            f"unknown accelerator {name!r}; expected one of: {', '.join(ACCELERATORS)}"
        ) from None
