"""Per-layer work descriptors: what one layer asks of the hardware.

``hwmodels`` knows nothing of TFLite; the reader in ``predictor`` turns each operator into a
:class:`LayerWork`. Sizes are element counts, not bytes, so one descriptor can be costed in any
number format (an INT4 accelerator moves half the bytes of an INT8 one for the same layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OpKind(StrEnum):
    """Coarse kind of work, which decides which unit executes a layer and how it maps onto it."""

    CONV = "conv"  # dense convolution (incl. grouped), 1-D/2-D/3-D
    DEPTHWISE = "depthwise"  # one filter per channel: poor reuse on a MAC array
    TRANSPOSE_CONV = "transpose_conv"
    FULLY_CONNECTED = "fully_connected"
    MATMUL = "matmul"  # activation x activation (attention)
    RECURRENT = "recurrent"  # LSTM/GRU/RNN cells
    POOL = "pool"
    ELEMENTWISE = "elementwise"  # add/mul/activation functions/quantize...
    REDUCE = "reduce"  # mean, sum, max over axes
    SOFTMAX = "softmax"  # also layer norms: reduce + elementwise
    DATA_MOVEMENT = "data_movement"  # reshape, transpose, concat, pad, slice, gather, resize
    OTHER = "other"  # custom or unknown: costed as data movement


#: Kinds whose work is multiply-accumulates (run on a MAC array); the rest are vector work.
MAC_KINDS = frozenset(
    {
        OpKind.CONV,
        OpKind.DEPTHWISE,
        OpKind.TRANSPOSE_CONV,
        OpKind.FULLY_CONNECTED,
        OpKind.MATMUL,
        OpKind.RECURRENT,
    }
)


@dataclass(frozen=True, slots=True)
class LayerWork:
    """What one layer costs in arithmetic and data, independent of the number format.

    Attributes:
        name: Layer label for reports (e.g. ``"3:CONV_2D"``).
        op_kind: The kind of work.
        macs: Multiply-accumulates (0 for layers without a MAC reduction).
        elem_ops: Non-MAC arithmetic operations (elementwise, pooling, reductions), per element.
        weight_elems: Constant parameter elements read (weights and biases).
        input_elems: Activation elements read (all non-constant inputs).
        output_elems: Activation elements written.
        output_shape: Shape of the main output, batch first (``(1, 56, 56, 64)``).
        kernel_hw: Spatial size of the filter window (``(1, 1)`` when there is none).
        in_channels: Reduction depth per output (``Cin/groups * kh * kw`` is ``reduction``).
        out_channels: Output channels (or output features).
        reduction: Length of each dot product (``macs / output_elems`` for MAC layers).
    """

    name: str
    op_kind: OpKind
    macs: int = 0
    elem_ops: int = 0
    weight_elems: int = 0
    input_elems: int = 0
    output_elems: int = 0
    output_shape: tuple[int, ...] = ()
    kernel_hw: tuple[int, int] = (1, 1)
    in_channels: int = 0
    out_channels: int = 0
    reduction: int = 0
