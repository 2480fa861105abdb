"""Number formats as data: integer and floating-point formats with their bit fields.

FP8 formats follow the OCP 8-bit floating point specification (v1.0, 2023: E4M3 has no infinity and
one NaN pattern, so its largest exponent code is usable); FP16/FP32 are IEEE 754-2019 binary16/32;
BF16 is Google's bfloat16. Exact (Kulisch) accumulator widths follow van Baalen et al. 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hwmodels.errors import UnknownFormatError

#: Products an exact fixed-point accumulator must hold without overflow (2^12, van Baalen et al.).
ACCUMULATION_LOG2: int = 12


class FormatKind(StrEnum):
    """Integer (two's complement, symmetric) or floating point (sign, exponent, significand)."""

    INT = "int"
    FP = "fp"


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """One number format.

    Attributes:
        name: Table key (``"fp8-e4m3"``).
        kind: Integer or floating point.
        bits: Storage bits per element.
        exp_bits: Exponent field width (0 for integers).
        man_bits: Stored fraction bits (integers: ``bits - 1`` magnitude bits).
        bias: Exponent bias (floating point only).
        max_exp_code: Largest exponent field value that encodes finite numbers.
        subnormals: Whether exponent code 0 encodes subnormals (hidden bit 0).
        default_acc: Accumulator used when the caller names none: ``"exact"`` for a fixed-point
            accumulator sized to hold 2^12 exact products, else a format name.
        source: Where the encoding is specified.
    """

    name: str
    kind: FormatKind
    bits: int
    exp_bits: int = 0
    man_bits: int = 0
    bias: int = 0
    max_exp_code: int = 0
    subnormals: bool = True
    default_acc: str = "exact"
    source: str = ""

    @property
    def is_float(self) -> bool:
        return self.kind is FormatKind.FP

    @property
    def bytes_per_elem(self) -> float:
        return self.bits / 8

    @property
    def significand_bits(self) -> int:
        """Multiplier operand width: hidden bit + fraction for FP, full width for integers."""
        return self.man_bits + 1 if self.is_float else self.bits

    @property
    def emin(self) -> int:
        """Unbiased exponent of the smallest normal number (subnormals share it)."""
        return 1 - self.bias

    @property
    def emax(self) -> int:
        return self.max_exp_code - self.bias

    def exact_acc_bits(self, log2_terms: int = ACCUMULATION_LOG2) -> int:
        """Width of a fixed-point accumulator that sums ``2**log2_terms`` products exactly.

        Integers (symmetric range, as TFLite's int8 weights): a product fits ``2n - 1`` signed
        bits, so ``2n - 1 + log2_terms`` (INT8 -> 27). Floating point (Kulisch): the product's bit
        weights span from ``2**(2*(emin - man))`` (smallest subnormal squared) to just under
        ``2**(2*emax + 2)``; that span, the headroom and a sign bit.
        """
        if not self.is_float:
            return 2 * self.bits - 1 + log2_terms
        lsb_weight = 2 * (self.emin - self.man_bits)
        msb_weight = 2 * self.emax + 1
        return msb_weight - lsb_weight + 1 + log2_terms + 1


def _fp(name: str, e: int, m: int, *, ieee: bool, default_acc: str, source: str) -> NumberFormat:
    bias = 2 ** (e - 1) - 1
    # IEEE reserves the all-ones exponent for Inf/NaN; OCP E4M3 and FP4 keep it for numbers.
    max_code = 2**e - 2 if ieee else 2**e - 1
    return NumberFormat(
        name, FormatKind.FP, 1 + e + m, e, m, bias, max_code, default_acc=default_acc, source=source
    )


_OCP = "OCP 8-bit Floating Point Specification (OFP8) rev 1.0, 2023"
_MX = "OCP Microscaling Formats (MX) Specification v1.0, 2023"
_IEEE = "IEEE 754-2019"

FORMATS: dict[str, NumberFormat] = {
    f.name: f
    for f in (
        NumberFormat("int4", FormatKind.INT, 4, man_bits=3, source="two's complement"),
        NumberFormat("int8", FormatKind.INT, 8, man_bits=7, source="two's complement"),
        NumberFormat("int16", FormatKind.INT, 16, man_bits=15, source="two's complement"),
        NumberFormat("int32", FormatKind.INT, 32, man_bits=31, source="two's complement"),
        _fp("fp4-e2m1", 2, 1, ieee=False, default_acc="exact", source=_MX),
        _fp("fp8-e4m3", 4, 3, ieee=False, default_acc="exact", source=_OCP),
        _fp("fp8-e5m2", 5, 2, ieee=True, default_acc="exact", source=_OCP),
        # A Kulisch accumulator for 16/32-bit floats runs to 100s of bits; real designs use FP32.
        _fp("fp16", 5, 10, ieee=True, default_acc="fp32", source=_IEEE + " binary16"),
        _fp(
            "bf16",
            8,
            7,
            ieee=True,
            default_acc="fp32",
            source="Google bfloat16 (IEEE binary32, top 16 bits)",
        ),
        _fp("fp32", 8, 23, ieee=True, default_acc="fp32", source=_IEEE + " binary32"),
    )
}

# Short names users type (``fp8`` is E4M3, the inference variant).
ALIASES: dict[str, str] = {
    "fp8": "fp8-e4m3",
    "e4m3": "fp8-e4m3",
    "e5m2": "fp8-e5m2",
    "fp4": "fp4-e2m1",
    "float16": "fp16",
    "float32": "fp32",
    "bfloat16": "bf16",
    "half": "fp16",
}


def get_format(name: str) -> NumberFormat:
    """Look a format up by name (case-insensitive, ``_`` or ``-``), raising if unknown."""
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    try:
        return FORMATS[key]
    except KeyError:
        raise UnknownFormatError(
            f"unknown number format {name!r}; expected one of: {', '.join(FORMATS)}"
        ) from None
