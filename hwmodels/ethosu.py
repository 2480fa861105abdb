"""Energy of an Ethos-U inference from Vela's performance counters.

Vela reports MACs, bytes moved per memory and cycles but no energy. Energy here = MACs x pJ per
int8 MAC (32-bit accumulator, as the Ethos-U MAC engines use) + SRAM bytes x pJ/byte + off-chip
(flash or DRAM) bytes x pJ/byte + leakage of the MAC array x time, from the same node tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hwmodels.errors import EstimateError, UnknownAcceleratorError
from hwmodels.mac import mac_unit
from hwmodels.nodes import get_node

#: Default node: MCU-class parts that carry an Ethos-U55/U65 are mostly 40-55 nm or 22 nm; the
#: 45 nm tables (Horowitz) are the nearest published set.
DEFAULT_NODE = "45nm"
#: Ethos-U MAC engines multiply int8 x int8 into 32-bit accumulators (Arm Ethos-U55 TRM).
MAC_FORMAT, MAC_ACC = "int8", "int32"


@dataclass(frozen=True, slots=True)
class EthosUTarget:
    """One Ethos-U configuration: MACs per cycle and the SRAM size its energy per byte uses."""

    name: str
    macs_per_cycle: int
    sram_kb: float
    source: str


_TRM = "Arm Ethos-U55/U65/U85 product briefs (MACs/cycle); SRAM size: assumed typical system"
TARGETS: Mapping[str, EthosUTarget] = {
    t.name: t
    for t in (
        EthosUTarget("ethos-u55-32", 32, 256.0, _TRM),
        EthosUTarget("ethos-u55-64", 64, 256.0, _TRM),
        EthosUTarget("ethos-u55-128", 128, 384.0, _TRM),
        EthosUTarget("ethos-u55-256", 256, 384.0, _TRM),
        EthosUTarget("ethos-u65-256", 256, 1024.0, _TRM),
        EthosUTarget("ethos-u65-512", 512, 1024.0, _TRM),
        EthosUTarget("ethos-u85-256", 256, 2048.0, _TRM),
        EthosUTarget("ethos-u85-512", 512, 2048.0, _TRM),
        EthosUTarget("ethos-u85-1024", 1024, 2048.0, _TRM),
        EthosUTarget("ethos-u85-2048", 2048, 2048.0, _TRM),
    )
}


@dataclass(frozen=True, slots=True)
class EthosUCounters:
    """What Vela reports for one inference.

    Attributes:
        accelerator: Vela accelerator config name (``"ethos-u55-128"``).
        macs: Multiply-accumulates.
        sram_bytes: Bytes read and written in on-chip SRAM.
        offchip_bytes: Bytes read and written off chip.
        offchip_kind: ``"flash"`` or ``"dram"``.
        cycles: Total cycles (Vela's ``cycles_total``).
        clock_hz: Core clock, Hz.
    """

    accelerator: str
    macs: int
    sram_bytes: float
    offchip_bytes: float
    offchip_kind: str
    cycles: float
    clock_hz: float


@dataclass(frozen=True, slots=True)
class EnergyBreakdown:
    """Energy of one inference, mJ."""

    mac_mj: float
    sram_mj: float
    offchip_mj: float
    static_mj: float

    @property
    def total_mj(self) -> float:
        return self.mac_mj + self.sram_mj + self.offchip_mj + self.static_mj

    def to_dict(self) -> dict[str, float]:
        return {
            "mac_mj": self.mac_mj,
            "sram_mj": self.sram_mj,
            "offchip_mj": self.offchip_mj,
            "static_mj": self.static_mj,
            "total_mj": self.total_mj,
        }


def get_target(name: str) -> EthosUTarget:
    """Look an Ethos-U configuration up by Vela name, raising if unknown."""
    try:
        return TARGETS[name.strip().lower()]
    except KeyError:
        raise UnknownAcceleratorError(
            f"unknown Ethos-U accelerator {name!r}; expected one of: {', '.join(TARGETS)}"
        ) from None


def energy(counters: EthosUCounters, node: str = DEFAULT_NODE) -> EnergyBreakdown:
    """Energy of the inference Vela's ``counters`` describe, at process ``node``."""
    target = get_target(counters.accelerator)
    n = get_node(node)
    for attr in ("macs", "sram_bytes", "offchip_bytes", "cycles"):
        if getattr(counters, attr) < 0:
            raise EstimateError(f"{attr} must be >= 0, got {getattr(counters, attr)}")
    if not counters.clock_hz > 0:
        raise EstimateError(f"clock_hz must be > 0, got {counters.clock_hz}")
    per_byte = {"flash": n.flash_pj_per_byte, "dram": n.dram_pj_per_byte}
    if counters.offchip_kind not in per_byte:
        raise EstimateError(
            f"offchip_kind must be one of {list(per_byte)}, got {counters.offchip_kind!r}"
        )
    mac = mac_unit(MAC_FORMAT, MAC_ACC, n.name)
    seconds = counters.cycles / counters.clock_hz
    leakage_w = target.macs_per_cycle * mac.gates * n.leakage_nw_per_ge * 1e-9
    return EnergyBreakdown(
        mac_mj=counters.macs * mac.energy_pj * 1e-9,
        sram_mj=counters.sram_bytes * n.sram_pj_per_byte_at(target.sram_kb) * 1e-9,
        offchip_mj=counters.offchip_bytes * per_byte[counters.offchip_kind] * 1e-9,
        static_mj=leakage_w * seconds * 1e3,
    )
