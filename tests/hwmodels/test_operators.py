import pytest

from hwmodels import operands
from hwmodels.activity import switched_ge
from hwmodels.errors import EstimateError
from hwmodels.formats import get_format
from hwmodels.nodes import get_node, reference_ops
from hwmodels.operators import fp_adder, int_multiplier, operator, total_gates

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


def _horowitz(op, fmt):
    return next(
        r for r in reference_ops() if (r.reference, r.op, r.fmt) == ("horowitz-45nm", op, fmt)
    )


def _area_um2(op, fmt):
    return total_gates(operator(op, fmt)) * get_node("45nm").um2_per_ge


@pytest.mark.parametrize(
    ("op", "fmt"),
    [("add", "int8"), ("mul", "int8"), ("add", "int32"), ("mul", "int32")]
    + [("add", "fp16"), ("mul", "fp16")],
)
def test_area_within_25_percent_of_horowitz(op, fmt):
    assert _area_um2(op, fmt) == pytest.approx(_horowitz(op, fmt).area_um2, rel=0.25)


@pytest.mark.parametrize("op", ["add", "mul"])
def test_fp32_area_is_the_known_miss(op):
    # Documented in docs/hwmodels.md sec. 4: the structural count of a speed-optimised fp32 unit
    # reaches about 0.6-0.65 of Horowitz's area (timing-driven cell sizing is not modelled).
    # This pins the gap so that a change that closes or widens it is noticed.
    ratio = _area_um2(op, "fp32") / _horowitz(op, "fp32").area_um2
    assert 0.55 < ratio < 0.75


def test_int32_multiplier_is_booth_and_int8_is_the_smaller_style():
    assert "Booth" in int_multiplier(32).name
    assert int_multiplier(8).gates <= min(
        total_gates(operator("mul", "int8")), int_multiplier(8).gates
    )


def test_dual_path_adder_has_both_paths_and_near_path_duty():
    f = get_format("fp32")
    comps = fp_adder(f)
    names = " ".join(c.name for c in comps)
    for block in ("far compound adder", "leading-zero anticipator", "near normalisation shifter"):
        assert block in names
    near = [c for c in comps if "(near path)" in c.name]
    assert near and all(c.duty == pytest.approx(operands.p_near_path(f)) for c in near)
    assert all(c.duty == 1.0 for c in comps if c not in near)
    assert switched_ge(comps) < total_gates(comps)


def test_near_path_probability_counts_exponent_pairs():
    # fp16: 31 finite exponent codes, codes 0 and 1 share the exponent (subnormals).
    f = get_format("fp16")
    eff = [max(c, 1) for c in range(31)]
    close = sum(1 for a in eff for b in eff if abs(a - b) <= 1)
    assert operands.p_exp_diff_at_most(f, 1) == pytest.approx(close / 31**2)
    assert operands.p_near_path(f) == pytest.approx(0.5 * close / 31**2)


@pytest.mark.parametrize("fmt", ["fp16", "fp32"])
def test_case_probabilities_are_probabilities(fmt):
    f = get_format(fmt)
    for p in (operands.p_near_path(f), operands.p_subnormal_operand(f)):
        assert 0 < p < 0.1
    assert 0 < operands.p_subnormal_product(f) < 0.2


@pytest.mark.parametrize("fmt", ["fp16", "fp32"])
def test_fp_operators_are_dearer_than_integer_ones(fmt):
    assert total_gates(operator("mul", fmt)) > total_gates(operator("mul", "int8"))
    assert total_gates(operator("add", fmt)) > total_gates(operator("add", "int32"))


def test_unknown_operator_raises():
    with pytest.raises(EstimateError, match="unknown operator 'div'"):
        operator("div", "int8")
