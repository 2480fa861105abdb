"""How each hardware target's labels are obtained, for every target of the one registry.

Measured CPU (LiteRT + XNNPACK, 1 thread), Arm Vela's Ethos-U performance estimate (int8 only;
system configs and memory modes from Vela 5.2's shipped ``Arm/vela.ini``), and the hwmodels
analytic accelerator presets (``npu-*``). The targets themselves are the rows of the one
registry, ``predictor/data/targets.toml``; adding one is adding a row there (and, for a Vela
target, its Vela configuration in :data:`ETHOSU_CONFIGS`).
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

# How Vela is asked to compile each Ethos-U target of the registry. Arm's own pairings: U55 in a
# microcontroller with weights in flash (Shared_Sram), U65/U85 as application-class NPUs with DRAM
# and a 384 KB dedicated SRAM cache.
ETHOSU_CONFIGS: dict[str, EthosUConfig] = {
    "ethos-u55-128": EthosUConfig(
        "ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram", "flash"
    ),
    "ethos-u65-256": EthosUConfig(
        "ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram_384KB", "dram"
    ),
    "ethos-u85-512": EthosUConfig(
        "ethos-u85-512", "Ethos_U85_SYS_DRAM_Mid", "Dedicated_Sram_384KB", "dram"
    ),
}


def _from_registry() -> dict[str, LabelTarget]:
    """Label targets derived from the one target registry (``predictor/data/targets.toml``).

    Calibrated targets are fitted from a user's measurements, never labelled by the build.
    """
    from predictor.targets import TARGETS

    out = {}
    for name, target in TARGETS.items():
        if target.labels == "calibrated":
            continue
        kind = LabelKind(target.labels)
        ethosu = ETHOSU_CONFIGS.get(name)
        if kind is LabelKind.VELA and ethosu is None:
            raise UnknownLabelTargetError(
                f"Vela target {name!r} has no Vela configuration; expected one of "
                f"{sorted(ETHOSU_CONFIGS)}"
            )
        out[name] = LabelTarget(name, kind, target.labelled_precisions, ethosu)
    return out


_ALL_TARGETS = _from_registry()
#: The measured and Vela targets (the analytic ones are :func:`analytic_targets`).
LABEL_TARGETS: dict[str, LabelTarget] = {
    n: t for n, t in _ALL_TARGETS.items() if t.kind is not LabelKind.ANALYTIC
}
#: The targets labelled by Vela (the Ethos-U ones).
VELA_TARGETS: tuple[str, ...] = tuple(n for n, t in LABEL_TARGETS.items() if t.ethosu is not None)


def analytic_targets() -> dict[str, LabelTarget]:
    """The registry's analytic targets: one per hwmodels accelerator preset (``npu-int8``...)."""
    return {n: t for n, t in _ALL_TARGETS.items() if t.kind is LabelKind.ANALYTIC}


def all_targets() -> dict[str, LabelTarget]:
    """Every target the dataset labels."""
    return dict(_ALL_TARGETS)


def get_target(name: str) -> LabelTarget:
    """The row for ``name``; raises :class:`UnknownLabelTargetError` naming the known ones."""
    targets = all_targets()
    if name not in targets:
        raise UnknownLabelTargetError(f"unknown target {name!r}; expected one of {sorted(targets)}")
    return targets[name]
