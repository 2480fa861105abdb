"""A minimal, bounds-checked FlatBuffers table reader.

The TFLite file format is a FlatBuffer (https://flatbuffers.dev/internals/). The generated Python
accessors (the ``tflite`` package) cost ~8 ms for a MobileNetV2 and trust every offset they read;
serving needs ~1 ms and must survive hostile bytes. Every read here is checked against the buffer
size, and vector lengths are checked before anything is allocated for them.
"""

from __future__ import annotations

import struct

import numpy as np

from predictor.errors import ReaderError

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")

# Scalar field readers by schema type name: (struct, byte size).
SCALARS: dict[str, tuple[struct.Struct, int]] = {
    "bool": (_U8, 1),
    "byte": (struct.Struct("<b"), 1),
    "ubyte": (_U8, 1),
    "short": (struct.Struct("<h"), 2),
    "int": (_I32, 4),
    "uint": (_U32, 4),
    "long": (_I64, 8),
    "ulong": (_U64, 8),
    "float": (_F32, 4),
}


# Precompiled structs for the short vectors that dominate a model (shapes, op inputs).
_INT_VECTORS = [struct.Struct(f"<{n}i") for n in range(17)]
_OFFSET_TABLES = [struct.Struct(f"<{n}H") for n in range(33)]


class Table:
    """One FlatBuffers table: a position in the buffer and its vtable.

    Field ``slot`` ``i`` is the i-th field of the schema's table (deprecated fields included).
    """

    __slots__ = ("buf", "offs", "pos", "size")

    def __init__(self, buf: bytes, pos: int) -> None:
        size = len(buf)
        if pos < 0 or pos + 4 > size:
            raise ReaderError(f"table offset {pos} lies outside the {size}-byte file")
        vt = pos - _I32.unpack_from(buf, pos)[0]
        if vt < 0 or vt + 4 > size:
            raise ReaderError(f"vtable offset {vt} of table at {pos} lies outside the file")
        vt_len = _U16.unpack_from(buf, vt)[0]
        if vt_len < 4 or vt + vt_len > size:
            raise ReaderError(f"vtable at {vt} claims {vt_len} bytes; the file has {size}")
        self.buf = buf
        self.size = size
        self.pos = pos
        # All field offsets in one unpack: tables are read field by field right after.
        n = (vt_len - 4) // 2
        st = _OFFSET_TABLES[n] if n < len(_OFFSET_TABLES) else struct.Struct(f"<{n}H")
        self.offs = st.unpack_from(buf, vt + 4)

    def _field(self, slot: int) -> int:
        offs = self.offs
        if slot >= len(offs):
            return 0
        off = offs[slot]
        return self.pos + off if off else 0

    def _deref(self, slot: int) -> int:
        """Absolute position an offset field points at, or 0 if the field is absent."""
        p = self._field(slot)
        if not p:
            return 0
        if p + 4 > self.size:
            raise ReaderError(f"offset field at {p} lies outside the file")
        target = p + _U32.unpack_from(self.buf, p)[0]
        if target + 4 > self.size:
            raise ReaderError(
                f"offset at {p} points to {target}, outside the {self.size}-byte file"
            )
        return target

    def has(self, slot: int) -> bool:
        return self._field(slot) != 0

    def scalar(self, slot: int, kind: str, default: float = 0) -> float | int:
        p = self._field(slot)
        if not p:
            return default
        st, n = SCALARS[kind]
        if p + n > self.size:
            raise ReaderError(f"scalar field at {p} lies outside the file")
        return st.unpack_from(self.buf, p)[0]

    # u8/i32/u32 repeat `scalar` inline: they run for every tensor and operator, and going
    # through `scalar` costs 5% of a MobileNetV2 parse (measured, bench/reader.py).
    def u8(self, slot: int, default: int = 0) -> int:
        p = self._field(slot)
        if not p:
            return default
        if p + 1 > self.size:
            raise ReaderError(f"byte field at {p} lies outside the file")
        return self.buf[p]

    def i32(self, slot: int, default: int = 0) -> int:
        p = self._field(slot)
        if not p:
            return default
        if p + 4 > self.size:
            raise ReaderError(f"int field at {p} lies outside the file")
        return _I32.unpack_from(self.buf, p)[0]

    def u32(self, slot: int, default: int = 0) -> int:
        p = self._field(slot)
        if not p:
            return default
        if p + 4 > self.size:
            raise ReaderError(f"uint field at {p} lies outside the file")
        return _U32.unpack_from(self.buf, p)[0]

    def u64(self, slot: int, default: int = 0) -> int:
        return int(self.scalar(slot, "ulong", default))

    def table(self, slot: int) -> Table | None:
        target = self._deref(slot)
        return Table(self.buf, target) if target else None

    def vector(self, slot: int, elem_size: int) -> tuple[int, int]:
        """(first element position, length) of a vector field; (0, 0) when absent."""
        target = self._deref(slot)
        if not target:
            return 0, 0
        n = _U32.unpack_from(self.buf, target)[0]
        start = target + 4
        if start + n * elem_size > self.size:
            raise ReaderError(
                f"vector at {target} claims {n} elements of {elem_size} bytes; "
                f"only {self.size - start} bytes remain in the file"
            )
        return start, n

    def vector_len(self, slot: int, elem_size: int) -> int:
        return self.vector(slot, elem_size)[1]

    def ints(self, slot: int) -> tuple[int, ...]:
        # Inlined _field/_deref/vector: this is the reader's hottest call (shapes, op inputs).
        offs = self.offs
        if slot >= len(offs) or not offs[slot]:
            return ()
        buf = self.buf
        size = self.size
        p = self.pos + offs[slot]
        if p + 4 > size:
            raise ReaderError(f"offset field at {p} lies outside the file")
        target = p + _U32.unpack_from(buf, p)[0]
        if target + 4 > size:
            raise ReaderError(f"offset at {p} points to {target}, outside the {size}-byte file")
        n = _U32.unpack_from(buf, target)[0]
        if not n:
            return ()
        if target + 4 + 4 * n > size:
            raise ReaderError(
                f"vector at {target} claims {n} elements of 4 bytes; "
                f"only {size - target - 4} bytes remain in the file"
            )
        st = _INT_VECTORS[n] if n < len(_INT_VECTORS) else struct.Struct(f"<{n}i")
        return st.unpack_from(buf, target + 4)

    def floats(self, slot: int) -> np.ndarray:
        start, n = self.vector(slot, 4)
        return np.frombuffer(self.buf, dtype="<f4", count=n, offset=start) if n else _EMPTY_F32

    def longs(self, slot: int) -> np.ndarray:
        start, n = self.vector(slot, 8)
        return np.frombuffer(self.buf, dtype="<i8", count=n, offset=start) if n else _EMPTY_I64

    def string(self, slot: int) -> str:
        start, n = self.vector(slot, 1)
        return self.buf[start : start + n].decode("utf-8", errors="replace") if n else ""

    def table_offsets(self, slot: int) -> list[int]:
        """Absolute positions of the tables of a vector-of-tables field (not yet validated)."""
        start, n = self.vector(slot, 4)
        offsets = struct.unpack_from(f"<{n}I", self.buf, start) if n else ()
        return [start + 4 * i + off for i, off in enumerate(offsets)]

    def tables(self, slot: int) -> list[Table]:
        start, n = self.vector(slot, 4)
        buf = self.buf
        offsets = struct.unpack_from(f"<{n}I", buf, start) if n else ()
        return [Table(buf, start + 4 * i + off) for i, off in enumerate(offsets)]


_EMPTY_F32 = np.zeros(0, dtype="<f4")
_EMPTY_I64 = np.zeros(0, dtype="<i8")


def vector_field_len(buf: bytes, pos: int, slot: int) -> int:
    """Length of the vector field ``slot`` of the table at ``pos`` (0 if absent), checked.

    A lean path for scanning many small tables (a model's buffers) without building objects.
    """
    size = len(buf)
    if pos < 0 or pos + 4 > size:
        raise ReaderError(f"table offset {pos} lies outside the {size}-byte file")
    vt = pos - _I32.unpack_from(buf, pos)[0]
    if vt < 0 or vt + 4 > size:
        raise ReaderError(f"vtable offset {vt} of table at {pos} lies outside the file")
    vt_len = _U16.unpack_from(buf, vt)[0]
    o = 4 + 2 * slot
    if o + 2 > vt_len or vt + vt_len > size:
        return 0
    off = _U16.unpack_from(buf, vt + o)[0]
    if not off:
        return 0
    p = pos + off
    if p + 4 > size:
        raise ReaderError(f"offset field at {p} lies outside the file")
    target = p + _U32.unpack_from(buf, p)[0]
    if target + 4 > size:
        raise ReaderError(f"offset at {p} points to {target}, outside the {size}-byte file")
    return _U32.unpack_from(buf, target)[0]


def root(buf: bytes, identifier: bytes | None = None) -> Table:
    """The root table of a FlatBuffer, checking the 4-byte file identifier if one is given."""
    if len(buf) < 8:
        raise ReaderError(f"file is {len(buf)} bytes; a FlatBuffer needs at least 8")
    if identifier is not None and buf[4:8] != identifier:
        raise ReaderError(
            f"file identifier is {bytes(buf[4:8])!r}; expected {identifier!r} (not a TFLite model)"
        )
    return Table(buf, _U32.unpack_from(buf, 0)[0])
