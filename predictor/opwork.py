"""Derived work of one TFLite operator: its kind, multiply-accumulates and element operations.

MACs follow the usual convention (one multiply plus one add is one MAC, as in PerfSAGE and Vela's
"Neural network macs"), from the operator's tensor shapes alone, so the same formulas serve files
read from bytes and graphs restored from the dataset. Non-MAC arithmetic is counted per output
element with a small cost factor per op (transcendentals cost more than an add).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

from hwmodels.work import OpKind


@dataclass(frozen=True, slots=True)
class OpClass:
    """How one TFLite operator is costed: its kind and arithmetic per output element."""

    kind: OpKind
    ops_per_elem: float = 0.0


_K = OpKind
RECURRENT_OPS = (
    "LSTM",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "BIDIRECTIONAL_SEQUENCE_LSTM",
    "RNN",
    "UNIDIRECTIONAL_SEQUENCE_RNN",
    "BIDIRECTIONAL_SEQUENCE_RNN",
    "SVDF",
)
# TFLite builtin name -> class. Anything absent is OpKind.OTHER (costed by bytes moved only).
OP_CLASSES: dict[str, OpClass] = {
    **{n: OpClass(_K.CONV) for n in ("CONV_2D", "CONV_3D")},
    "DEPTHWISE_CONV_2D": OpClass(_K.DEPTHWISE),
    **{n: OpClass(_K.TRANSPOSE_CONV) for n in ("TRANSPOSE_CONV", "CONV_3D_TRANSPOSE")},
    "FULLY_CONNECTED": OpClass(_K.FULLY_CONNECTED),
    "BATCH_MATMUL": OpClass(_K.MATMUL),
    **{n: OpClass(_K.RECURRENT, 4.0) for n in RECURRENT_OPS},
    **{n: OpClass(_K.POOL, 1.0) for n in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D")},
    **{
        n: OpClass(_K.REDUCE, 1.0)
        for n in (
            "MEAN",
            "SUM",
            "REDUCE_MAX",
            "REDUCE_MIN",
            "REDUCE_PROD",
            "REDUCE_ANY",
            "REDUCE_ALL",
            "ARG_MAX",
            "ARG_MIN",
            "CUMSUM",
        )
    },
    **{
        n: OpClass(_K.SOFTMAX, 5.0)
        for n in ("SOFTMAX", "LOG_SOFTMAX", "L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION")
    },
    # Elementwise: ops per output element (transcendentals approximated by a few ops, as
    # integer kernels do with lookup tables or polynomials).
    **{
        n: OpClass(_K.ELEMENTWISE, 1.0)
        for n in (
            "ADD",
            "SUB",
            "MUL",
            "MAXIMUM",
            "MINIMUM",
            "SQUARED_DIFFERENCE",
            "RELU",
            "RELU6",
            "RELU_N1_TO_1",
            "RELU_0_TO_1",
            "LEAKY_RELU",
            "PRELU",
            "ABS",
            "NEG",
            "SQUARE",
            "FLOOR",
            "CEIL",
            "ROUND",
            "SIGN",
            "QUANTIZE",
            "DEQUANTIZE",
            "CAST",
            "ADD_N",
            "LESS",
            "LESS_EQUAL",
            "GREATER",
            "GREATER_EQUAL",
            "EQUAL",
            "NOT_EQUAL",
            "LOGICAL_AND",
            "LOGICAL_OR",
            "LOGICAL_NOT",
            "SELECT",
            "SELECT_V2",
            "FLOOR_DIV",
            "FLOOR_MOD",
        )
    },
    **{n: OpClass(_K.ELEMENTWISE, 2.0) for n in ("DIV", "SQRT", "RSQRT", "HARD_SWISH", "ELU")},
    **{
        n: OpClass(_K.ELEMENTWISE, 4.0)
        for n in ("LOGISTIC", "TANH", "EXP", "LOG", "SIN", "COS", "POW")
    },
    "GELU": OpClass(_K.ELEMENTWISE, 8.0),
    **{
        n: OpClass(_K.DATA_MOVEMENT)
        for n in (
            "RESHAPE",
            "SQUEEZE",
            "EXPAND_DIMS",
            "TRANSPOSE",
            "CONCATENATION",
            "PACK",
            "UNPACK",
            "SPLIT",
            "SPLIT_V",
            "SLICE",
            "STRIDED_SLICE",
            "PAD",
            "PADV2",
            "MIRROR_PAD",
            "GATHER",
            "GATHER_ND",
            "DEPTH_TO_SPACE",
            "SPACE_TO_DEPTH",
            "BATCH_TO_SPACE_ND",
            "SPACE_TO_BATCH_ND",
            "TILE",
            "BROADCAST_TO",
            "SHAPE",
            "FILL",
            "ZEROS_LIKE",
            "ONES_LIKE",
            "REVERSE_V2",
            "EMBEDDING_LOOKUP",
            "SCATTER_ND",
            "RANGE",
        )
    },
    "RESIZE_BILINEAR": OpClass(_K.DATA_MOVEMENT, 4.0),
    "RESIZE_NEAREST_NEIGHBOR": OpClass(_K.DATA_MOVEMENT, 0.0),
}
_OTHER = OpClass(_K.OTHER)


def op_class(op_type: str) -> OpClass:
    return OP_CLASSES.get(op_type, _OTHER)


Shape = tuple[int, ...]


def _numel(shape: Shape) -> int:
    return prod(shape) if shape else 1


def _conv_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    # filter [Cout, KH, KW, Cin/groups]: every output element reduces over KH*KW*Cin/groups.
    w = ins[1]
    return _numel(outs[0]) * _numel(w[1:]) if len(w) == 4 else 0


def _conv3d_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    # filter [KD, KH, KW, Cin, Cout]
    w = ins[1]
    return _numel(outs[0]) * _numel(w[:4]) if len(w) == 5 else 0


def _depthwise_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    # filter [1, KH, KW, Cout]: one KH*KW window per output element.
    w = ins[1]
    return _numel(outs[0]) * w[1] * w[2] if len(w) == 4 else 0


def _transpose_conv_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    # inputs (output_shape, filter [Cout, KH, KW, Cin], x): each input element is scattered
    # into KH*KW*Cout outputs.
    if len(ins) < 3 or len(ins[1]) != 4:
        return 0
    w = ins[1]
    return _numel(ins[2]) * w[0] * w[1] * w[2]


def _conv3d_transpose_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    # inputs (output_shape, filter [KD, KH, KW, Cout, Cin], x)
    if len(ins) < 3 or len(ins[1]) != 5:
        return 0
    return _numel(ins[2]) * _numel(ins[1][:4])


def _fully_connected_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    # weights [units, K]: each output element is a K-long dot product.
    w = ins[1]
    return _numel(outs[0]) * w[-1] if len(w) == 2 else 0


def _batch_matmul_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    x = ins[0]
    if len(x) < 2:
        return 0
    k = x[-2] if options.get("adj_x") else x[-1]
    return _numel(outs[0]) * k


def _recurrent_macs(
    ins: Sequence[Shape], outs: Sequence[Shape], options: dict, constant: Sequence[bool]
) -> int:
    # Every constant 2-D weight matrix (input, recurrent, projection) is applied once per time
    # step and batch row; the sequence input is [B, T, I] (or [T, B, I] when time-major). The
    # 2-D state inputs are variables, not weights.
    x = ins[0]
    steps = _numel(x[:-1]) if len(x) >= 2 else 1
    return steps * sum(
        _numel(s) for s, c in zip(ins[1:], constant[1:], strict=False) if c and len(s) == 2
    )


# (input shapes, output shapes, options, which inputs are constant) -> MACs
MAC_FORMULAS: dict[str, Callable[[Sequence[Shape], Sequence[Shape], dict, Sequence[bool]], int]] = {
    "CONV_2D": _conv_macs,
    "CONV_3D": _conv3d_macs,
    "DEPTHWISE_CONV_2D": _depthwise_macs,
    "TRANSPOSE_CONV": _transpose_conv_macs,
    "CONV_3D_TRANSPOSE": _conv3d_transpose_macs,
    "FULLY_CONNECTED": _fully_connected_macs,
    "BATCH_MATMUL": _batch_matmul_macs,
    **{n: _recurrent_macs for n in RECURRENT_OPS},
}

# Positions of an operator's inputs that hold its weights/bias (for kernel size and channels).
WEIGHT_INPUT: dict[str, int] = {
    "CONV_2D": 1,
    "CONV_3D": 1,
    "DEPTHWISE_CONV_2D": 1,
    "TRANSPOSE_CONV": 1,
    "CONV_3D_TRANSPOSE": 1,
    "FULLY_CONNECTED": 1,
}


def macs(
    op_type: str,
    ins: Sequence[Shape],
    outs: Sequence[Shape],
    options: dict,
    constant: Sequence[bool],
) -> int:
    """Multiply-accumulates of one operator from its input/output shapes (0 if it has none)."""
    formula = MAC_FORMULAS.get(op_type)
    if formula is None or len(ins) < 2 or not outs:
        return 0
    return int(formula(ins, outs, options, constant))


def elem_ops(op_type: str, ins: Sequence[Shape], outs: Sequence[Shape], options: dict) -> int:
    """Non-MAC arithmetic: output elements x cost factor; pooling counts its window."""
    cls = op_class(op_type)
    if not cls.ops_per_elem or not outs:
        return 0
    if cls.kind is OpKind.POOL:
        window = int(options.get("filter_width", 1)) * int(options.get("filter_height", 1))
        return int(_numel(outs[0]) * max(window, 1) * cls.ops_per_elem)
    if cls.kind in (OpKind.REDUCE, OpKind.SOFTMAX) and ins:
        return int(_numel(ins[0]) * cls.ops_per_elem)
    if cls.kind is OpKind.RECURRENT:
        return int(sum(_numel(s) for s in outs) * cls.ops_per_elem)
    return int(sum(_numel(s) for s in outs) * cls.ops_per_elem)
