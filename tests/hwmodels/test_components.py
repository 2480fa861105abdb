import pytest

from hwmodels import components as c
from hwmodels.errors import EstimateError


def test_full_adder_is_about_five_gates():
    assert 4.5 <= c.full_adder().gates <= 5.5
    assert c.half_adder().gates < c.full_adder().gates


@pytest.mark.parametrize("n", [4, 8, 11, 16, 24, 32])
def test_dadda_counts_match_closed_form(n):
    comp = c.tree_multiplier(n, style="dadda")
    cpa = 2 * n - 2
    assert comp.cells["and2"] == n * n
    assert comp.cells["fa"] == (n * n - 4 * n + 3) + cpa
    assert comp.cells["ha"] == n - 1


@pytest.mark.parametrize("n", [4, 8, 16])
def test_array_multiplier_matches_brief_formula(n):
    comp = c.array_multiplier(n)
    assert comp.cells == {"and2": n * n, "fa": n * (n - 1)}


@pytest.mark.parametrize("n", [8, 16, 32])
def test_tree_multipliers_beat_array_and_wallace_uses_more_half_adders(n):
    dadda, wallace = c.tree_multiplier(n, style="dadda"), c.tree_multiplier(n, style="wallace")
    assert dadda.gates < c.array_multiplier(n).gates
    assert wallace.cells["ha"] > dadda.cells["ha"]


@pytest.mark.parametrize("n", [8, 16, 32, 64])
def test_prefix_adders_cost_more_than_ripple(n):
    ripple = c.ripple_adder(n).gates
    assert ripple < c.prefix_adder(n, "sklansky").gates < c.prefix_adder(n, "kogge-stone").gates


@pytest.mark.parametrize(
    ("width", "shift", "stages"), [(8, 7, 3), (16, 15, 4), (14, 14, 4), (27, 26, 5)]
)
def test_barrel_shifter_is_width_times_log_stages(width, shift, stages):
    assert c.barrel_shifter(width, shift).cells == {"mux2": width * stages}


@pytest.mark.parametrize("n", [8, 16, 24, 32])
def test_leading_zero_counter_grows_n_log_n(n):
    small, big = c.leading_zero_counter(n).gates, c.leading_zero_counter(2 * n).gates
    assert 2 * small < big < 3 * small


def test_bad_widths_and_styles_raise():
    with pytest.raises(EstimateError, match="ripple adder needs a width of at least 1 bit, got 0"):
        c.ripple_adder(0)
    with pytest.raises(EstimateError, match="unknown prefix-adder style 'brent'"):
        c.prefix_adder(8, "brent")
    with pytest.raises(EstimateError, match="unknown multiplier style 'booth'"):
        c.tree_multiplier(8, style="booth")


def test_component_dict_reports_gates_and_source():
    d = c.ripple_adder(8).to_dict()
    assert d["gates"] == pytest.approx(8 * c.full_adder().gates, rel=1e-3)
    assert "Weste" in d["source"]
