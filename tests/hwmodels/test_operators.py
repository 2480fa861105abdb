import pytest

from hwmodels.activity import switched_ge
from hwmodels.errors import EstimateError
from hwmodels.nodes import get_node, reference_ops
from hwmodels.operators import operator, total_gates

REQUIRED = {
    ("add", "int8"),
    ("mul", "int8"),
    ("add", "fp16"),
    ("mul", "fp16"),
    ("add", "fp32"),
    ("mul", "fp32"),
}
NODE_OF = {"horowitz-45nm": "45nm", "tpuv4i-7nm": "7nm"}


@pytest.mark.parametrize("ref", reference_ops(), ids=lambda r: f"{r.reference}-{r.op}-{r.fmt}")
def test_energy_per_operation_within_25_percent_of_published(ref):
    node = get_node(NODE_OF[ref.reference])
    modelled = switched_ge(operator(ref.op, ref.fmt)) * node.pj_per_ge
    assert modelled == pytest.approx(ref.energy_pj, rel=0.25)


def test_every_required_horowitz_figure_is_checked():
    got = {(r.op, r.fmt) for r in reference_ops() if r.reference == "horowitz-45nm"}
    assert REQUIRED <= got


@pytest.mark.parametrize(("op", "fmt"), [("add", "int8"), ("mul", "int8"), ("add", "int32")])
def test_integer_area_within_25_percent_of_horowitz(op, fmt):
    ref = next(
        r for r in reference_ops() if (r.reference, r.op, r.fmt) == ("horowitz-45nm", op, fmt)
    )
    area = total_gates(operator(op, fmt)) * get_node("45nm").um2_per_ge
    assert area == pytest.approx(ref.area_um2, rel=0.25)


@pytest.mark.parametrize("fmt", ["fp16", "fp32"])
def test_fp_operators_are_dearer_than_integer_ones(fmt):
    assert total_gates(operator("mul", fmt)) > total_gates(operator("mul", "int8"))
    assert total_gates(operator("add", fmt)) > total_gates(operator("add", "int32"))


def test_unknown_operator_raises():
    with pytest.raises(EstimateError, match="unknown operator 'div'"):
        operator("div", "int8")
