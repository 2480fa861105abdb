"""How each hardware target's labels are obtained: one row per target.

Measured CPU (LiteRT + XNNPACK, 1 thread), Arm Vela's Ethos-U performance estimate (int8 only;
system configs and memory modes from Vela 5.2's shipped ``Arm/vela.ini``), and the hwmodels
analytic accelerator presets (``npu-*``). Adding a target is adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dataset.errors import UnknownLabelTargetError


class LabelKind(StrEnum):
    """Where a target's numbers come from, which decides the pipeline phase that labels it."""

    MEASURED = "measured"  # timed on this machine: the `measure` phase, one model at a time
    VELA = "vela"  # Vela's performance estimate: the `label-static` phase
    ANALYTIC = "analytic"  # hwmodels.accelerator.estimate: the `label-static` phase


@dataclass(frozen=True, slots=True)
class EthosUConfig:
    """One Ethos-U target as Vela is asked to compile for it.

    Attributes:
        accelerator: Vela ``--accelerator-config`` (``ethos-u55-128``: U55 with 128 MACs/cycle).
        system_config: Section of ``Arm/vela.ini`` giving clock and memory bandwidths.
        memory_mode: Section of ``Arm/vela.ini`` saying where weights and the arena live.
        offchip_kind: What the off-chip memory is (``flash`` or ``dram``), for energy per byte.
    """

    accelerator: str
    system_config: str
    memory_mode: str
    offchip_kind: str


@dataclass(frozen=True, slots=True)
class LabelTarget:
    """A target of the dataset and how its labels are made.

    Attributes:
        name: Target name as the predictor reports it.
        kind: Measured, Vela or analytic.
        precisions: Graph precisions it can run; others get a null label with a reason.
        ethosu: Vela configuration (Vela targets only).
    """

    name: str
    kind: LabelKind
    precisions: tuple[str, ...]
    ethosu: EthosUConfig | None = None


CPU_TARGET = "cpu-xnnpack-1t"

# Arm's own pairings: U55 in a microcontroller with weights in flash (Shared_Sram), U65/U85 as
# application-class NPUs with DRAM and a 384 KB dedicated SRAM cache.
LABEL_TARGETS: dict[str, LabelTarget] = {
    CPU_TARGET: LabelTarget(CPU_TARGET, LabelKind.MEASURED, ("fp32", "int8")),
    "ethos-u55-128": LabelTarget(
        "ethos-u55-128",
        LabelKind.VELA,
        ("int8",),
        EthosUConfig("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram", "flash"),
    ),
    "ethos-u65-256": LabelTarget(
        "ethos-u65-256",
        LabelKind.VELA,
        ("int8",),
        EthosUConfig("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram_384KB", "dram"),
    ),
    "ethos-u85-512": LabelTarget(
        "ethos-u85-512",
        LabelKind.VELA,
        ("int8",),
        EthosUConfig("ethos-u85-512", "Ethos_U85_SYS_DRAM_Mid", "Dedicated_Sram_384KB", "dram"),
    ),
}


def analytic_targets() -> dict[str, LabelTarget]:
    """One analytic target per hwmodels accelerator preset (``npu-int8``, ``npu-fp8-e4m3``...)."""
    from hwmodels.accelerator import PRESETS

    return {
        name: LabelTarget(name, LabelKind.ANALYTIC, ("fp32", "int8")) for name in sorted(PRESETS)
    }


def all_targets() -> dict[str, LabelTarget]:
    """Every target the dataset labels: the fixed table plus the analytic presets."""
    return {**LABEL_TARGETS, **analytic_targets()}


def get_target(name: str) -> LabelTarget:
    """The row for ``name``; raises :class:`UnknownLabelTargetError` naming the known ones."""
    targets = all_targets()
    if name not in targets:
        raise UnknownLabelTargetError(
            f"unknown target {name!r}; expected one of {sorted(targets)}"
        )
    return targets[name]
