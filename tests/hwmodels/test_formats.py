import math

import pytest

from hwmodels.errors import UnknownFormatError
from hwmodels.formats import FORMATS, get_format


@pytest.mark.parametrize(
    ("name", "bits", "exp_bits", "man_bits"),
    [
        ("int8", 8, 0, 7),
        ("fp8-e4m3", 8, 4, 3),
        ("fp8-e5m2", 8, 5, 2),
        ("fp16", 16, 5, 10),
        ("bf16", 16, 8, 7),
        ("fp32", 32, 8, 23),
        ("fp4-e2m1", 4, 2, 1),
    ],
)
def test_fields_add_up(name, bits, exp_bits, man_bits):
    f = get_format(name)
    assert (f.bits, f.exp_bits, f.man_bits) == (bits, exp_bits, man_bits)
    if f.is_float:
        assert 1 + f.exp_bits + f.man_bits == f.bits


@pytest.mark.parametrize(
    ("name", "largest"),
    [("fp8-e4m3", 448.0), ("fp8-e5m2", 57344.0), ("fp16", 65504.0), ("fp4-e2m1", 6.0)],
)
def test_largest_finite_value_matches_spec(name, largest):
    f = get_format(name)
    # E4M3 (OCP) gives up the top mantissa code of its top exponent to NaN.
    top_man = (2**f.man_bits - 2) if name == "fp8-e4m3" else 2**f.man_bits - 1
    assert (1 + top_man / 2**f.man_bits) * 2.0**f.emax == largest


def test_int8_exact_accumulator_is_27_bits():
    # van Baalen et al.: INT8 accumulators sized for 2^12 products are 27 bits wide.
    assert get_format("int8").exact_acc_bits() == 27
    assert get_format("int8").exact_acc_bits(log2_terms=0) == 15


def test_kulisch_width_covers_product_range():
    f = get_format("fp8-e4m3")
    smallest_product = 2.0 ** (2 * (f.emin - f.man_bits))
    largest_product = 448.0**2
    span_bits = math.ceil(math.log2(largest_product / smallest_product))
    assert f.exact_acc_bits(0) >= span_bits + 1


@pytest.mark.parametrize("alias", ["FP8", "e4m3", "FP8_E4M3", " fp8-e4m3 "])
def test_aliases_resolve(alias):
    assert get_format(alias) is FORMATS["fp8-e4m3"]


def test_unknown_format_lists_valid_names():
    with pytest.raises(UnknownFormatError, match=r"unknown number format 'int7'.*int8.*fp16"):
        get_format("int7")
