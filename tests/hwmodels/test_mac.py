import pytest

from hwmodels.errors import EstimateError, UnknownFormatError, UnknownNodeError
from hwmodels.formats import FORMATS
from hwmodels.mac import mac_unit


def _over_int8(fmt: str, acc: str) -> float:
    return mac_unit(fmt, acc).gates / mac_unit("int8", "int27").gates - 1


def test_fp8_with_fp16_accumulator_costs_about_53_percent_more_gates_than_int8():
    # van Baalen et al. 2023 (arXiv 2303.17951): +53% for FP8-E4M3 with an FP16 accumulator.
    assert _over_int8("fp8-e4m3", "fp16") == pytest.approx(0.53, abs=0.10)


def test_fp8_with_fp32_accumulator_costs_about_183_percent_more_gates_than_int8():
    assert _over_int8("fp8-e4m3", "fp32") == pytest.approx(1.83, abs=0.20)


def test_int8_default_accumulator_is_the_exact_27_bit_one():
    assert mac_unit("int8").acc == "int27"
    assert mac_unit("int8").gates == mac_unit("int8", "int27").gates


@pytest.mark.parametrize("node", ["7nm", "45nm"])
@pytest.mark.parametrize("attr", ["gates", "area_um2", "energy_pj"])
def test_formats_order_int4_int8_fp8_fp16_fp32(node, attr):
    values = [
        getattr(mac_unit(f, node=node), attr) for f in ("int4", "int8", "fp8-e4m3", "fp16", "fp32")
    ]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_components_sum_to_total_and_area_scales_with_node(fmt):
    m7, m45 = mac_unit(fmt, node="7nm"), mac_unit(fmt, node="45nm")
    assert sum(c.gates for c in m7.components) == pytest.approx(m7.gates)
    assert m7.gates == m45.gates
    assert m7.area_um2 < m45.area_um2 and m7.energy_pj < m45.energy_pj


@pytest.mark.parametrize(
    ("acc", "bigger"), [("int27", "int32"), ("fp16", "fp32"), ("bf16", "fp32")]
)
def test_wider_accumulator_costs_more(acc, bigger):
    fmt = "int8" if acc.startswith("int") else "fp8-e4m3"
    assert mac_unit(fmt, acc).gates < mac_unit(fmt, bigger).gates


@pytest.mark.parametrize(
    ("fmt", "acc", "expected"),
    [
        ("int8", "exact", "int27"),
        ("int8", "32", "int32"),
        ("int8", "INT27", "int27"),
        ("fp8-e4m3", "int37", "int37"),
        ("fp8-e4m3", "fp16", "fp16"),
        ("fp16", None, "fp32"),
        ("bf16", "bfloat16", "bf16"),
    ],
)
def test_accumulator_names_resolve(fmt, acc, expected):
    assert mac_unit(fmt, acc).acc == expected


def test_fp_mac_breakdown_names_the_fp_blocks():
    names = " ".join(c.name for c in mac_unit("fp8-e4m3", "fp16").components)
    for block in (
        "multiplier 4x4",
        "exponent adder",
        "alignment shifter",
        "leading-zero counter",
        "normalisation shifter",
        "round-to-nearest-even",
        "accumulator register 16b",
    ):
        assert block in names


def test_kulisch_mac_aligns_into_the_exact_register():
    m = mac_unit("fp8-e4m3")
    assert m.acc == "int49"
    assert any(c.name.startswith("alignment shifter 49b") for c in m.components)


def test_dict_has_gates_area_energy():
    d = mac_unit("int8", node="45nm").to_dict()
    assert {"gates", "area_um2", "energy_pj", "components"} <= d.keys()
    assert d["node"] == "45nm"


@pytest.mark.parametrize(
    ("fmt", "acc", "node", "error", "match"),
    [
        ("int7", None, "7nm", UnknownFormatError, "unknown number format 'int7'"),
        (
            "int8",
            None,
            "5nm",
            UnknownNodeError,
            r"unknown process node '5nm'; expected one of: 45nm, 7nm",
        ),
        ("int8", "fp99", "7nm", UnknownFormatError, "unknown accumulator 'fp99'"),
        (
            "int8",
            "int8",
            "7nm",
            EstimateError,
            "fixed-point accumulator 'int8' for int8 must be 15",
        ),
        ("int8", "fp16", "7nm", EstimateError, "integer format int8 accumulates in fixed point"),
        ("fp8-e4m3", "int8", "7nm", EstimateError, r"must be 9\.\.\.1024 bits"),
    ],
)
def test_bad_arguments_raise(fmt, acc, node, error, match):
    with pytest.raises(error, match=match):
        mac_unit(fmt, acc, node)


def test_multiplier_style_is_selectable_and_validated():
    assert mac_unit("int8", mult_style="array").gates > mac_unit("int8", mult_style="dadda").gates
    with pytest.raises(EstimateError, match="unknown multiplier style 'booth'"):
        mac_unit("int8", mult_style="booth")
