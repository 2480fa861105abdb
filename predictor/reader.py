"""Read a ``.tflite`` file into an :class:`~predictor.graph.OpGraph`, without TensorFlow.

Decodes the FlatBuffer directly (schema: TFLite ``schema.fbs``, version 3) with the bounds-checked
reader of :mod:`predictor.flatbuf`, so serving needs neither TensorFlow nor LiteRT and hostile
bytes end in a :class:`~predictor.errors.ReaderError`, never a crash, a hang or a huge allocation.
"""

from __future__ import annotations

import math
import struct
from functools import partial
from math import prod
from os import PathLike
from pathlib import Path

from predictor import tflite_schema as schema
from predictor.errors import ReaderError
from predictor.flatbuf import Table, root, vector_field_len
from predictor.graph import _UNREAD, Op, OpGraph, Quantization, Subgraph, Tensor, finalize

TFLITE_IDENTIFIER = b"TFL3"
# Bounds that no real edge model comes near; beyond them a file is hostile or corrupt.
MAX_FILE_BYTES = 2 << 30
MAX_RANK = 8
MAX_TENSOR_ELEMENTS = 1 << 36
MAX_OPS = 1 << 20

# Field slots of the schema tables (TFLite schema.fbs, field order).
_MODEL_VERSION, _MODEL_OPCODES, _MODEL_SUBGRAPHS, _MODEL_DESCRIPTION, _MODEL_BUFFERS = 0, 1, 2, 3, 4
_OPCODE_DEPRECATED, _OPCODE_CUSTOM, _OPCODE_VERSION, _OPCODE_BUILTIN = 0, 1, 2, 3
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS, _SG_NAME = 0, 1, 2, 3, 4
_T_SHAPE, _T_TYPE, _T_BUFFER, _T_NAME, _T_QUANT, _T_VARIABLE, _T_SPARSITY, _T_SIGNATURE = range(8)
_Q_SCALE, _Q_ZERO_POINT, _Q_DIM = 2, 3, 6
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS, _OP_OPT_TYPE, _OP_OPT = 0, 1, 2, 3, 4
_OP_OPT2_TYPE, _OP_OPT2 = 11, 12
_BUF_DATA, _BUF_OFFSET, _BUF_SIZE = 0, 1, 2
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127

_DTYPES = {code: name.lower() for code, name in schema.TENSOR_TYPES.items()}
_ENUM_OPTIONS = {"padding": schema.PADDINGS, "fused_activation_function": schema.ACTIVATIONS}


def read_model(src: bytes | bytearray | memoryview | str | PathLike[str]) -> OpGraph:
    """Parse TFLite model bytes (or a path to them) into an :class:`OpGraph`.

    Raises:
        ReaderError: the input is empty, truncated, not a TFLite model, or internally
            inconsistent (offsets outside the file, dangling tensor indices, cycles, absurd
            shapes). The message says what was found.
    """
    if isinstance(src, (str, PathLike)):
        path = Path(src)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ReaderError(f"{path} is {size} bytes; the limit is {MAX_FILE_BYTES}")
            buf = path.read_bytes()
        except OSError as exc:
            raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from exc
    else:
        buf = bytes(src)
    if not buf:
        raise ReaderError("empty input: expected the bytes of a .tflite model")
    if len(buf) > MAX_FILE_BYTES:
        raise ReaderError(f"input is {len(buf)} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        graph = _read(buf)
    except ReaderError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError, UnicodeDecodeError) as exc:
        raise ReaderError(f"corrupt TFLite flatbuffer: {exc}") from exc
    graph.source = buf
    return graph


def _read(buf: bytes) -> OpGraph:
    model = root(buf, TFLITE_IDENTIFIER)
    version = model.u32(_MODEL_VERSION)
    if version != 3:
        raise ReaderError(f"TFLite schema version {version}; this reader understands version 3")
    opcodes = [_opcode_name(t) for t in model.tables(_MODEL_OPCODES)]
    constant_buffers = _constant_buffers(model)
    sg_tables = model.tables(_MODEL_SUBGRAPHS)
    if not sg_tables:
        raise ReaderError("model has no subgraphs")
    subgraphs = [_subgraph(i, t, opcodes, constant_buffers) for i, t in enumerate(sg_tables)]
    if not subgraphs[0].ops:
        raise ReaderError("main subgraph has no operators")
    graph = OpGraph(subgraphs, description=model.string(_MODEL_DESCRIPTION), version=version)
    finalize(graph)
    return graph


def _opcode_name(t: Table) -> tuple[str, bool]:
    code = t.i32(_OPCODE_BUILTIN)
    deprecated = t.scalar(_OPCODE_DEPRECATED, "byte", 0)
    # Codes >= 127 live only in builtin_code; older files only fill the deprecated byte.
    code = max(code, int(deprecated))
    name = schema.BUILTIN_OPERATORS.get(code)
    if name == "CUSTOM":
        custom = t.string(_OPCODE_CUSTOM)
        return (custom or "CUSTOM"), True
    if name is None or code == _PLACEHOLDER_FOR_GREATER_OP_CODES:
        return f"BUILTIN_{code}", False
    return name, False


def _constant_buffers(model: Table) -> list[bool]:
    """Per buffer: does it hold data (inline, or by offset/size for files over 2 GB)?"""
    buf = model.buf
    out = []
    for pos in model.table_offsets(_MODEL_BUFFERS):
        if vector_field_len(buf, pos, _BUF_DATA) > 0:
            out.append(True)
        else:  # rare: data stored outside the flatbuffer, located by offset/size
            out.append(Table(buf, pos).u64(_BUF_SIZE) > 0)
    return out


def _subgraph(
    index: int, t: Table, opcodes: list[tuple[str, bool]], constant_buffers: list[bool]
) -> Subgraph:
    tensors = [_tensor(i, tt, constant_buffers) for i, tt in enumerate(t.tables(_SG_TENSORS))]
    op_tables = t.tables(_SG_OPERATORS)
    if len(op_tables) > MAX_OPS:
        raise ReaderError(
            f"subgraph {index} has {len(op_tables)} operators; the limit is {MAX_OPS}"
        )
    ops = []
    for pos, ot in enumerate(op_tables):
        code = ot.u32(_OP_OPCODE)
        if code >= len(opcodes):
            raise ReaderError(
                f"operator {pos} of subgraph {index} uses opcode {code}; the model lists {len(opcodes)}"
            )
        name, custom = opcodes[code]
        ops.append(
            Op(
                index=0,
                subgraph=index,
                position=pos,
                op_type=name,
                is_custom=custom,
                inputs=ot.ints(_OP_INPUTS),
                outputs=ot.ints(_OP_OUTPUTS),
                options=_options(ot),
            )
        )
    return Subgraph(
        index, t.string(_SG_NAME), tensors, ops, t.ints(_SG_INPUTS), t.ints(_SG_OUTPUTS)
    )


def _tensor(index: int, t: Table, constant_buffers: list[bool]) -> Tensor:
    # Hot path (one call per tensor): read each field once, with as few calls as possible.
    shape = t.ints(_T_SHAPE)
    signature = t.ints(_T_SIGNATURE) if t.has(_T_SIGNATURE) else shape
    if len(shape) > MAX_RANK or len(signature) > MAX_RANK:
        raise ReaderError(
            f"tensor {index} has rank {max(len(shape), len(signature))}; the limit is {MAX_RANK}"
        )
    if shape and min(shape) < 0:
        if min(shape) < -1:
            raise ReaderError(f"tensor {index} has shape {list(shape)}; dimensions must be >= -1")
        shape = tuple(1 if d == -1 else d for d in shape)  # unresolved dimension: cost batch 1
    if signature is not shape and signature and min(signature) < -1:
        raise ReaderError(
            f"tensor {index} has shape signature {list(signature)}; dimensions must be >= -1"
        )
    if len(shape) > 1 and prod(shape) > MAX_TENSOR_ELEMENTS:
        raise ReaderError(
            f"tensor {index} has shape {list(shape)} ({prod(shape)} elements); "
            f"the limit is {MAX_TENSOR_ELEMENTS}"
        )
    type_code = t.u8(_T_TYPE)
    dtype = _DTYPES.get(type_code)
    if dtype is None:
        raise ReaderError(f"tensor {index} has unknown type code {type_code}")
    buffer = t.u32(_T_BUFFER)
    if buffer and buffer >= len(constant_buffers):
        raise ReaderError(
            f"tensor {index} names buffer {buffer}; the model has {len(constant_buffers)}"
        )
    return Tensor(
        index,
        _UNREAD,
        shape,
        signature,
        dtype,
        buffer > 0 and constant_buffers[buffer],
        _UNREAD,
        bool(t.u8(_T_VARIABLE)),
        partial(_lazy_tensor_field, t),
    )


def _lazy_tensor_field(t: Table, field: str) -> str | Quantization | None:
    """Decode a tensor's name or quantisation on first use (see :class:`Tensor`)."""
    try:
        if field == "name":
            return t.string(_T_NAME)
        qt = t.table(_T_QUANT)
        if qt is None:
            return None
        scale = qt.floats(_Q_SCALE)
        if not len(scale):
            return None
        return Quantization(scale, qt.longs(_Q_ZERO_POINT), qt.i32(_Q_DIM))
    except (struct.error, IndexError, ValueError) as exc:
        raise ReaderError(f"corrupt tensor {field}: {exc}") from exc


def _options(op: Table) -> dict:
    """Numeric builtin options of an operator by field name, enums as their names."""
    layout = None
    opt_table = None
    kind = op.scalar(_OP_OPT_TYPE, "ubyte", 0)
    if kind:
        layout = schema.BUILTIN_OPTIONS.get(int(kind))
        opt_table = op.table(_OP_OPT)
    else:
        kind2 = op.scalar(_OP_OPT2_TYPE, "ubyte", 0)
        if kind2:
            layout = schema.BUILTIN_OPTIONS_2.get(int(kind2))
            opt_table = op.table(_OP_OPT2)
    if layout is None or opt_table is None:
        return {}
    out: dict = {}
    for name, slot, kind_name, default in layout[1]:
        value = opt_table.scalar(slot, kind_name, default)
        enum = _ENUM_OPTIONS.get(name)
        if enum is not None:
            value = enum.get(int(value), str(value))
        elif kind_name == "bool":
            value = bool(value)
        elif kind_name == "float" and not math.isfinite(value):
            value = None  # keep reports JSON-clean; a non-finite clip/beta carries no cost signal
        out[name] = value
    return out
