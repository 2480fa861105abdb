"""Regenerate ``predictor/tflite_schema.py`` from the ``tflite`` package's generated accessors.

The reader decodes TFLite flatbuffers itself (for speed and bounds checks), so it needs the
schema's enums and, per builtin-options table, each scalar field's slot, type and default. Those
are facts of TFLite's ``schema.fbs``; this script transcribes them from the generated Python code
so the table stays exact. Run: ``.venv/bin/python scripts/gen_tflite_schema.py``.
"""

from __future__ import annotations

import ast
import pathlib
import re

import tflite

_FLAGS = {
    "Int8Flags": "byte",
    "Uint8Flags": "ubyte",
    "BoolFlags": "bool",
    "Int16Flags": "short",
    "Uint16Flags": "ushort",
    "Int32Flags": "int",
    "Uint32Flags": "uint",
    "Int64Flags": "long",
    "Uint64Flags": "ulong",
    "Float32Flags": "float",
}
_METHOD = re.compile(
    r"def (\w+)\(self\):\n\s+o = .*?Offset\((\d+)\)\)\n\s+if o != 0:\n\s+return (?:bool\()?"
    r"self\._tab\.Get\(flatbuffers\.number_types\.(\w+), o \+ self\._tab\.Pos\)\)?\n\s+return (\S+)"
)


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _enum(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


def _options(union: type) -> dict[int, tuple[str, tuple]]:
    pkg = pathlib.Path(tflite.__file__).parent
    out: dict[int, tuple[str, tuple]] = {}
    for code, name in sorted(_enum(union).items()):
        if code == 0:
            continue
        src = pkg / f"{name}.py"
        fields = []
        if src.exists():
            for meth, off, flag, default in _METHOD.findall(src.read_text()):
                if flag not in _FLAGS:
                    continue
                value = ast.literal_eval(default)
                fields.append((_snake(meth), (int(off) - 4) // 2, _FLAGS[flag], value))
        out[code] = (name, tuple(fields))
    return out


def main() -> None:
    lines = [
        '"""TFLite schema facts the reader needs: enums and builtin-options field layouts.',
        "",
        "Generated from the ``tflite`` package (TFLite ``schema.fbs``) by",
        "``scripts/gen_tflite_schema.py``; do not edit by hand.",
        '"""',
        "",
        "# ruff: noqa: E501",
        "",
        f"BUILTIN_OPERATORS: dict[int, str] = {_enum(tflite.BuiltinOperator)!r}",
        "",
        f"TENSOR_TYPES: dict[int, str] = {_enum(tflite.TensorType)!r}",
        "",
        f"ACTIVATIONS: dict[int, str] = {_enum(tflite.ActivationFunctionType)!r}",
        "",
        f"PADDINGS: dict[int, str] = {_enum(tflite.Padding)!r}",
        "",
        "# union type -> (options table name, ((field, slot, scalar kind, default), ...))",
        f"BUILTIN_OPTIONS: dict[int, tuple[str, tuple]] = {_options(tflite.BuiltinOptions)!r}",
        "",
        f"BUILTIN_OPTIONS_2: dict[int, tuple[str, tuple]] = {_options(tflite.BuiltinOptions2)!r}",
        "",
    ]
    target = pathlib.Path(__file__).resolve().parents[1] / "predictor" / "tflite_schema.py"
    target.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
