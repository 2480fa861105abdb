"""The per-layer accelerator cost of :func:`~hwmodels.accelerator.estimate`, vectorised for batches.

The arithmetic of :func:`hwmodels.accelerator.estimate` (``cycles = max(compute, memory)``; energy =
MACs + SRAM bytes + off-chip bytes + leakage x time), evaluated with numpy over every layer of a
batch of graphs at once instead of one :class:`~hwmodels.work.LayerWork` at a time. The constants
come from the same tables; ``tests/hwmodels/test_batch.py`` holds the two equal layer by layer.
The predictor's analytic-prior features are built with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hwmodels.accelerator import _constants, get_accelerator
from hwmodels.errors import EstimateError
from hwmodels.work import MAC_KINDS, LayerWork, OpKind

#: Integer code of each op kind in the ``kind`` arrays (its position in :class:`OpKind`).
KIND_CODES: dict[OpKind, int] = {k: i for i, k in enumerate(OpKind)}
_IS_MAC = np.array([k in MAC_KINDS for k in OpKind])
_DEPTHWISE = KIND_CODES[OpKind.DEPTHWISE]


@dataclass(slots=True)
class LayerWorkArrays:
    """The fields of :class:`~hwmodels.work.LayerWork` that the cost uses, one int64 array each.

    Attributes:
        kind: :data:`KIND_CODES` of each layer's op kind.
        macs / elem_ops: Multiply-accumulates and non-MAC operations.
        weight_elems / input_elems / output_elems: Elements of weights read, activations read and
            activations written.
        kernel_h / kernel_w: Filter window (1 when there is none).
        out_channels: Output channels (0: unknown).
    """

    kind: np.ndarray
    macs: np.ndarray
    elem_ops: np.ndarray
    weight_elems: np.ndarray
    input_elems: np.ndarray
    output_elems: np.ndarray
    kernel_h: np.ndarray
    kernel_w: np.ndarray
    out_channels: np.ndarray

    @classmethod
    def from_works(cls, works: Sequence[LayerWork]) -> LayerWorkArrays:
        """The arrays of a list of :class:`~hwmodels.work.LayerWork` (one graph's layers)."""

        def col(values: list[int]) -> np.ndarray:
            return np.array(values, np.int64)

        return cls(
            kind=col([KIND_CODES[w.op_kind] for w in works]),
            macs=col([w.macs for w in works]),
            elem_ops=col([w.elem_ops for w in works]),
            weight_elems=col([w.weight_elems for w in works]),
            input_elems=col([w.input_elems for w in works]),
            output_elems=col([w.output_elems for w in works]),
            kernel_h=col([w.kernel_hw[0] for w in works]),
            kernel_w=col([w.kernel_hw[1] for w in works]),
            out_channels=col([w.out_channels for w in works]),
        )


@dataclass(slots=True)
class LayerCostArrays:
    """Per-layer costs, float64 arrays in the units of :class:`~hwmodels.accelerator.LayerCost`.

    ``energy_mj`` is ``mac_mj + sram_mj + offchip_mj + static_mj``, summed in that order.
    """

    latency_ms: np.ndarray
    mac_mj: np.ndarray
    sram_mj: np.ndarray
    offchip_mj: np.ndarray
    static_mj: np.ndarray
    sram_kb: np.ndarray
    utilisation: np.ndarray

    @property
    def energy_mj(self) -> np.ndarray:
        return self.mac_mj + self.sram_mj + self.offchip_mj + self.static_mj


@lru_cache(maxsize=16)
def accelerator_constants(accelerator: str):
    """The precomputed constants of the preset or Ethos-U system ``accelerator`` (cached)."""
    return _constants(get_accelerator(accelerator))


def layer_costs(work: LayerWorkArrays, accelerator: str) -> LayerCostArrays:
    """Cost of every layer on the hwmodels preset ``accelerator``, as ``estimate`` computes it."""
    k = accelerator_constants(accelerator)
    macs, elem_ops, out_e = work.macs, work.elem_ops, work.output_elems
    for name in ("macs", "elem_ops", "weight_elems", "input_elems", "output_elems"):
        bad = np.flatnonzero(getattr(work, name) < 0)
        if len(bad):
            raise EstimateError(
                f"layer {bad[0]}: element counts must be >= 0, got {name}={getattr(work, name)[bad[0]]}"
            )
    bpe = k.bytes_per_elem
    weight_b = work.weight_elems * bpe
    in_b = work.input_elems * bpe
    out_b = out_e * bpe
    # MAC layers: reduction on rows, output channels on columns; a depthwise layer reduces only
    # over its window. Integer arithmetic as in hwmodels (exact while counts stay below 2**53).
    on_array = _IS_MAC[work.kind] & (macs != 0)
    red = np.where(out_e > 0, macs // np.maximum(out_e, 1), macs)
    red[red == 0] = 1
    red = np.where(work.kind == _DEPTHWISE, np.maximum(work.kernel_h * work.kernel_w, 1), red)
    out_ch = np.where(work.out_channels != 0, work.out_channels, 1)
    row_folds = -(-red // k.rows)
    col_folds = np.where(on_array, -(-out_ch // k.cols), 1)
    util = np.where(on_array, (red / (row_folds * k.rows)) * (out_ch / (col_folds * k.cols)), 0.0)
    compute = np.where(
        on_array,
        (macs * row_folds * col_folds) / (red * out_ch),
        (elem_ops + macs) / k.lanes,
    )
    # Weights stream from off-chip once; activations spill off-chip when they do not fit.
    working = weight_b + in_b + out_b
    io_b = in_b + out_b
    offchip_b = weight_b + np.where(io_b > k.sram_bytes, io_b, 0.0)
    sram_b = 2 * weight_b + in_b * col_folds + out_b
    memory = np.maximum(offchip_b / k.offchip_bytes_per_cycle, sram_b / k.sram_bytes_per_cycle)
    latency_ms = np.maximum(np.maximum(compute, memory), 1.0) * k.ms_per_cycle
    return LayerCostArrays(
        latency_ms=latency_ms,
        mac_mj=(macs + elem_ops) * k.mac_mj,
        sram_mj=sram_b * k.sram_mj_per_byte,
        offchip_mj=offchip_b * k.offchip_mj_per_byte,
        static_mj=k.static_mw * latency_ms * 1e-3,
        sram_kb=np.minimum(working, k.sram_bytes) / 1024,
        utilisation=util,
    )


def model_totals(
    costs: LayerCostArrays, graph: np.ndarray, n_graphs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per graph (``graph`` gives each layer's): latency ms, energy mJ and peak SRAM KiB.

    Sums run in layer order, one addition at a time, as ``ModelCost.total`` adds them up
    (``bincount`` accumulates its weights sequentially), so totals equal hwmodels' exactly.
    """

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(graph, weights=values, minlength=n_graphs)

    latency_ms = total(costs.latency_ms)
    energy_mj = (
        total(costs.mac_mj)
        + total(costs.sram_mj)
        + total(costs.offchip_mj)
        + total(costs.static_mj)
    )
    peak_sram_kb = np.zeros(n_graphs)
    np.maximum.at(peak_sram_kb, graph, costs.sram_kb)
    return latency_ms, energy_mj, peak_sram_kb
