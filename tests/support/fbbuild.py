"""Build small TFLite flatbuffers by hand, valid or deliberately broken, for reader tests.

Uses the ``flatbuffers`` builder directly with the field slots of TFLite's ``schema.fbs``, so a
test can write what TensorFlow never would: dangling indices, cycles, absurd shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers

TYPE_CODES = {"float32": 0, "float16": 1, "int32": 2, "uint8": 3, "int64": 4, "int8": 9, "int16": 7}
OPCODES = {"ADD": 0, "CONV_2D": 3, "FULLY_CONNECTED": 9, "RESHAPE": 22, "CUSTOM": 32, "WHILE": 119}


@dataclass
class T:
    shape: list[int]
    dtype: str = "float32"
    buffer: int = 0
    signature: list[int] | None = None
    name: str = "t"
    type_code: int | None = None


@dataclass
class OpSpec:
    opcode: int
    inputs: list[int]
    outputs: list[int]


@dataclass
class ModelSpec:
    tensors: list[T]
    ops: list[OpSpec]
    inputs: list[int]
    outputs: list[int]
    opcodes: list[str | tuple[str, str]] = field(default_factory=lambda: ["ADD"])
    buffers: list[bytes] = field(default_factory=lambda: [b""])
    version: int = 3
    identifier: bytes = b"TFL3"
    extra_subgraphs: int = 0


def _ints(b: flatbuffers.Builder, values: list[int]) -> int:
    b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependInt32(v)
    return b.EndVector()


def _offsets(b: flatbuffers.Builder, offs: list[int]) -> int:
    b.StartVector(4, len(offs), 4)
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def build(spec: ModelSpec) -> bytes:
    b = flatbuffers.Builder(1024)
    # buffers
    bufs = []
    for data in spec.buffers:
        data_off = b.CreateByteVector(data) if data else None
        b.StartObject(3)
        if data_off is not None:
            b.PrependUOffsetTRelativeSlot(0, data_off, 0)
        bufs.append(b.EndObject())
    # tensors
    tens = []
    for t in spec.tensors:
        name = b.CreateString(t.name)
        shape = _ints(b, t.shape)
        sig = _ints(b, t.signature) if t.signature is not None else None
        b.StartObject(10)
        b.PrependUOffsetTRelativeSlot(0, shape, 0)
        code = t.type_code if t.type_code is not None else TYPE_CODES[t.dtype]
        b.PrependInt8Slot(1, code, -1)
        b.PrependUint32Slot(2, t.buffer, 0xFFFFFFFF)
        b.PrependUOffsetTRelativeSlot(3, name, 0)
        if sig is not None:
            b.PrependUOffsetTRelativeSlot(7, sig, 0)
        tens.append(b.EndObject())
    ops = []
    for o in spec.ops:
        ins = _ints(b, o.inputs)
        outs = _ints(b, o.outputs)
        b.StartObject(14)
        b.PrependUint32Slot(0, o.opcode, 0xFFFFFFFF)
        b.PrependUOffsetTRelativeSlot(1, ins, 0)
        b.PrependUOffsetTRelativeSlot(2, outs, 0)
        ops.append(b.EndObject())
    tens_v = _offsets(b, tens)
    ops_v = _offsets(b, ops)
    ins_v = _ints(b, spec.inputs)
    outs_v = _ints(b, spec.outputs)
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tens_v, 0)
    b.PrependUOffsetTRelativeSlot(1, ins_v, 0)
    b.PrependUOffsetTRelativeSlot(2, outs_v, 0)
    b.PrependUOffsetTRelativeSlot(3, ops_v, 0)
    sg = b.EndObject()
    subgraphs = [sg] * (1 + spec.extra_subgraphs)
    codes = []
    for oc in spec.opcodes:
        name, custom = (oc, None) if isinstance(oc, str) else oc
        custom_off = b.CreateString(custom) if custom else None
        b.StartObject(4)
        code = OPCODES[name]
        b.PrependInt8Slot(0, min(code, 127), 0)
        if custom_off is not None:
            b.PrependUOffsetTRelativeSlot(1, custom_off, 0)
        b.PrependInt32Slot(2, 1, 1)
        b.PrependInt32Slot(3, code, -1)
        codes.append(b.EndObject())
    codes_v = _offsets(b, codes)
    sgs_v = _offsets(b, subgraphs)
    bufs_v = _offsets(b, bufs)
    b.StartObject(8)
    b.PrependUint32Slot(0, spec.version, 0xFFFFFFFF)
    b.PrependUOffsetTRelativeSlot(1, codes_v, 0)
    b.PrependUOffsetTRelativeSlot(2, sgs_v, 0)
    b.PrependUOffsetTRelativeSlot(4, bufs_v, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=spec.identifier)
    return bytes(b.Output())


def add_chain(n_ops: int = 2) -> ModelSpec:
    """A valid chain of ADDs: x -> add -> add -> ... (each adds a constant)."""
    tensors = [T([1, 4], name="x")]
    buffers = [b""]
    ops = []
    for i in range(n_ops):
        buffers.append(bytes(16))
        tensors.append(T([1, 4], buffer=len(buffers) - 1, name=f"c{i}"))
        tensors.append(T([1, 4], name=f"y{i}"))
        src = 0 if i == 0 else len(tensors) - 3
        ops.append(OpSpec(0, [src, len(tensors) - 2], [len(tensors) - 1]))
    return ModelSpec(tensors, ops, inputs=[0], outputs=[len(tensors) - 1], buffers=buffers)
