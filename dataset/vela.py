"""Ethos-U labels from Arm's Vela compiler performance estimate (``ethos-u-vela`` 5.2).

Vela is run as its own CLI in a subprocess (a crash or hang costs one model, not the build) with
an explicit accelerator, system config and memory mode; its summary CSV gives ``inference_time``,
SRAM and off-chip memory used, traffic per memory and cycles. Energy is hwmodels' Ethos-U model
over those counters. A model with operators that fall back to the CPU gets no label: Vela's time
would cover only the NPU part.

Vela's per-layer CSV (``--verbose-performance``) is kept too, as cycles per operator of the
model's main subgraph: per-node targets for the predictor, whose graph label is their sum.
"""

from __future__ import annotations

import csv
import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dataset.errors import VelaError
from dataset.targets import EthosUConfig
from predictor.errors import ReaderError

log = logging.getLogger(__name__)

VELA_CONFIG_FILE = "Arm/vela.ini"  # shipped inside the ethos-u-vela wheel
# Graph-boundary conversions Vela leaves to the CPU without that changing the NPU estimate much.
_BOUNDARY_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})
_CPU_OPS_RE = re.compile(r"CPU operators = (\d+)")
_NPU_OPS_RE = re.compile(r"NPU operators = (\d+)")
_CPU_OP_TYPE_RE = re.compile(r"Warning \(supported operators\) operator: (\w+)")


@dataclass(frozen=True, slots=True)
class VelaLayer:
    """One row of Vela's per-layer performance CSV.

    Attributes:
        original_op: The TFLite operator the row comes from, in Vela's spelling (``Conv2D``).
        npu_op: The NPU operation Vela lowered it to (``DepthwiseConv2D`` for a ``Mean``...).
        cycles: Vela's cycle estimate of the row.
        name: Vela's name of the row: the TFLite output tensor's, or one derived from it.
    """

    original_op: str
    npu_op: str
    cycles: int
    name: str


@dataclass(frozen=True, slots=True)
class VelaReport:
    """What Vela says about one model on one Ethos-U configuration.

    Attributes:
        inference_time_s: Vela's estimated time of one inference.
        cycles_total: NPU cycles of one inference.
        core_clock_hz: Clock of the system config.
        sram_used_kb: SRAM used (arena and cached weights), KiB.
        offchip_used_kb: Off-chip flash plus DRAM used, KiB.
        sram_bytes: Bytes moved to and from SRAM per inference.
        offchip_bytes: Bytes moved to and from off-chip flash and DRAM per inference.
        macs: Vela's MAC count of the network.
        cpu_ops: Operators Vela leaves to the CPU.
        npu_ops: Operators Vela places on the NPU.
        cpu_op_types: Types of the operators left to the CPU.
        csv: Vela's summary CSV row, as numbers where they are numbers.
        layers: Vela's per-layer rows, in its execution order (their cycles sum to the total).
    """

    inference_time_s: float
    cycles_total: int
    core_clock_hz: float
    sram_used_kb: float
    offchip_used_kb: float
    sram_bytes: int
    offchip_bytes: int
    macs: int
    cpu_ops: int
    npu_ops: int
    cpu_op_types: tuple[str, ...]
    csv: dict[str, float | str]
    layers: tuple[VelaLayer, ...] = ()


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def run_vela(tflite_path: str | Path, config: EthosUConfig, *, timeout_s: float = 600.0) -> VelaReport:
    """Compile ``tflite_path`` with Vela for ``config`` and read back its performance summary.

    Raises:
        VelaError: Vela exited with an error, timed out, or wrote no readable summary.
    """
    tflite_path = Path(tflite_path)
    if not tflite_path.is_file():
        raise VelaError(f"cannot run Vela on {str(tflite_path)!r}: expected an existing .tflite")
    with tempfile.TemporaryDirectory(prefix="vela-") as out_dir:
        cmd = [
            sys.executable, "-m", "ethosu.vela", str(tflite_path),
            "--accelerator-config", config.accelerator,
            "--config", VELA_CONFIG_FILE,
            "--system-config", config.system_config,
            "--memory-mode", config.memory_mode,
            "--output-dir", out_dir,
            "--verbose-performance",  # also writes the per-layer CSV
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise VelaError(
                f"Vela ran more than {timeout_s:.0f} s on {tflite_path.name} for "
                f"{config.accelerator}; expected it to finish"
            ) from exc
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise VelaError(
                f"Vela refused {tflite_path.name} for {config.accelerator} "
                f"(exit {proc.returncode}): {tail or 'no output'}"
            )
        summaries = list(Path(out_dir).glob("*_summary_*.csv"))
        if len(summaries) != 1:
            raise VelaError(
                f"Vela wrote {len(summaries)} summary CSVs for {tflite_path.name}; expected one"
            )
        with summaries[0].open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        layers = _read_layers(list(Path(out_dir).glob("*_per-layer.csv")), tflite_path.name)
    if len(rows) != 1:
        raise VelaError(f"Vela's summary for {tflite_path.name} has {len(rows)} rows; expected 1")
    row = {k: _number(v) for k, v in rows[0].items()}
    cpu_ops = _CPU_OPS_RE.search(proc.stdout)
    npu_ops = _NPU_OPS_RE.search(proc.stdout)
    if cpu_ops is None or npu_ops is None:
        raise VelaError(
            f"Vela's output for {tflite_path.name} has no operator counts; expected "
            "'CPU operators = N' and 'NPU operators = N'"
        )
    try:
        return VelaReport(
            inference_time_s=float(row["inference_time"]),
            cycles_total=int(row["cycles_total"]),
            core_clock_hz=float(row["core_clock"]),
            sram_used_kb=float(row["sram_memory_used"]),
            offchip_used_kb=float(row["off_chip_flash_memory_used"]) + float(row["dram_memory_used"]),
            sram_bytes=int(row["sram_total_bytes"]),
            offchip_bytes=int(row["off_chip_flash_total_bytes"]) + int(row["dram_total_bytes"]),
            macs=int(row["nn_macs"]),
            cpu_ops=int(cpu_ops.group(1)),
            npu_ops=int(npu_ops.group(1)),
            cpu_op_types=tuple(sorted(set(_CPU_OP_TYPE_RE.findall(proc.stdout)))),
            csv=row,
            layers=layers,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise VelaError(
            f"Vela's summary for {tflite_path.name} lacks or garbles {exc}; expected Vela 5.2 "
            "summary columns"
        ) from exc


def _read_layers(paths: list[Path], model_name: str) -> tuple[VelaLayer, ...]:
    if len(paths) != 1:
        raise VelaError(f"Vela wrote {len(paths)} per-layer CSVs for {model_name}; expected one")
    with paths[0].open(newline="") as fh:
        try:
            return tuple(
                VelaLayer(r["Original Operator"], r["NNG Operator"], round(float(r["Op Cycles"])), r["Name"])
                for r in csv.DictReader(fh)
                if r.get("Target", "NPU") == "NPU"
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VelaError(
                f"Vela's per-layer CSV for {model_name} lacks or garbles {exc}; expected Vela 5.2 "
                "per-layer columns"
            ) from exc


# Vela's names of TFLite builtins where they are not the builtin's name without underscores
# (ethosu/vela/tflite_mapping.py), lower-cased.
_VELA_OP_ALIASES = {
    "avgpool": "averagepool2d",
    "concat": "concatenation",
    "concattflite": "concatenation",
    "conv2dbias": "conv2d",
    "depthwiseconv2dbias": "depthwiseconv2d",
    "conv2dbackpropinput": "transposeconv",
    "conv2dbackpropinputswitchedbias": "transposeconv",
    "transposeconv2d": "transposeconv",  # the per-layer CSV's spelling
    "gatherv2": "gather",
    "l2norm": "l2normalization",
    "lrn": "localresponsenormalization",
    "maxpool": "maxpool2d",
    "sigmoid": "logistic",
    "prod": "reduceprod",
    "max": "reducemax",
    "min": "reducemin",
    "any": "reduceany",
}


def _op_key(op_type: str) -> str:
    # TFLite's CONV_2D and Vela's Conv2D name one operator.
    key = op_type.replace("_", "").lower()
    return _VELA_OP_ALIASES.get(key, key)


def op_cycles(layers: Sequence[VelaLayer], ops: Sequence[tuple[str, str]]) -> tuple[list[int], int]:
    """Vela's cycles per operator of a subgraph, and the cycles no operator could be given.

    ``ops`` are the subgraph's ``(op_type, output tensor name)`` in order. A row goes to the
    operator of its own type whose output name is the longest prefix of the row's name (Vela
    names the operations it lowers an operator into after its output: ``.../Mean_intermediate``);
    failing that (generated names such as ``mul2``), to the next operator of that type at or after
    the last one given cycles, or the nearest before it. Rows of a type the subgraph lacks stay
    unassigned.
    """
    by_type: dict[str, list[int]] = {}
    for i, (op_type, _) in enumerate(ops):
        by_type.setdefault(_op_key(op_type), []).append(i)
    cycles = [0] * len(ops)
    unassigned = 0
    last = 0
    for layer in layers:
        candidates = by_type.get(_op_key(layer.original_op))
        if not candidates:
            unassigned += layer.cycles
            continue
        named = [i for i in candidates if ops[i][1] and layer.name.startswith(ops[i][1])]
        if named:
            i = max(named, key=lambda j: len(ops[j][1]))
        else:
            after = [j for j in candidates if j >= last]
            i = after[0] if after else candidates[-1]
        cycles[i] += layer.cycles
        last = i
    return cycles, unassigned


def _main_ops(tflite_path: Path) -> list[tuple[str, str]]:
    from predictor.reader import read_model

    main = read_model(tflite_path).main
    return [
        (op.op_type, main.tensors[op.outputs[0]].name if op.outputs and op.outputs[0] >= 0 else "")
        for op in main.ops
    ]


@dataclass(frozen=True, slots=True)
class EthosULabel:
    """An Ethos-U label: numbers, or nulls and the reason. Times in ms, sizes in KiB, energy mJ."""

    latency_ms: float | None
    energy_mj: float | None
    memory_kb: float | None
    storage_kb: float | None
    null_reason: str | None
    extra: dict


def label_ethosu(tflite_path: str | Path, precision: str, config: EthosUConfig) -> EthosULabel:
    """Vela's estimate for one model as a label; a float model or a refused one gets nulls.

    ``memory_kb`` is Vela's SRAM used; ``storage_kb`` its off-chip memory used (flash for the
    U55's Shared_Sram mode, DRAM holding weights and spilled arena for the U65/U85 modes).
    """
    if precision != "int8":
        return EthosULabel(
            None, None, None, None,
            f"Ethos-U runs int8 models only; got a {precision} model",
            {},
        )  # fmt: skip
    try:
        report = run_vela(tflite_path, config)
    except VelaError as exc:
        log.info("no %s label for %s: %s", config.accelerator, tflite_path, exc)
        return EthosULabel(None, None, None, None, str(exc), {})
    extra = {
        "cycles_total": report.cycles_total,
        "core_clock_hz": report.core_clock_hz,
        "sram_bytes": report.sram_bytes,
        "offchip_bytes": report.offchip_bytes,
        "offchip_kind": config.offchip_kind,
        "macs": report.macs,
        "cpu_ops": report.cpu_ops,
        "npu_ops": report.npu_ops,
        "system_config": config.system_config,
        "memory_mode": config.memory_mode,
        "vela_csv": {k: v for k, v in report.csv.items() if isinstance(v, float) and v},
    }
    if report.layers:
        try:
            ops = _main_ops(Path(tflite_path))
        except ReaderError as exc:  # Vela read it, so this is unexpected: keep the graph label
            log.warning("no per-operator cycles for %s: %s", tflite_path, exc)
        else:
            extra["op_cycles"], extra["op_cycles_unassigned"] = op_cycles(report.layers, ops)
    on_cpu = set(report.cpu_op_types) - _BOUNDARY_OPS
    if on_cpu or (report.cpu_ops and not report.cpu_op_types):
        return EthosULabel(
            None, None, None, None,
            f"{report.cpu_ops} of {report.cpu_ops + report.npu_ops} operators fall back to the "
            f"CPU ({', '.join(sorted(on_cpu)) or 'unnamed'}); Vela estimates only the NPU part",
            extra,
        )  # fmt: skip
    total_mj, extra["energy_breakdown_mj"] = ethosu_energy(config.accelerator, extra)
    return EthosULabel(
        latency_ms=report.inference_time_s * 1e3,
        energy_mj=total_mj,
        memory_kb=report.sram_used_kb,
        storage_kb=report.offchip_used_kb,
        null_reason=None,
        extra=extra,
    )


def ethosu_energy(accelerator: str, extra: dict) -> tuple[float, dict[str, float]]:
    """Energy (mJ) and its breakdown from the Vela counters a label keeps in ``extra``.

    Also how stored labels are brought up to date when the hardware model changes
    (:mod:`dataset.relabel`): Vela is not run again.
    """
    from hwmodels.ethosu import EthosUCounters, energy

    b = energy(
        EthosUCounters(
            accelerator=accelerator,
            macs=extra["macs"],
            sram_bytes=extra["sram_bytes"],
            offchip_bytes=extra["offchip_bytes"],
            offchip_kind=extra["offchip_kind"],
            cycles=extra["cycles_total"],
            clock_hz=extra["core_clock_hz"],
        )
    )
    parts = {"mac_mj": b.mac_mj, "sram_mj": b.sram_mj, "offchip_mj": b.offchip_mj,
             "static_mj": b.static_mj}  # fmt: skip
    return b.total_mj, parts
