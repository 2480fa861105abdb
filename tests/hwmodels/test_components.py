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


@pytest.mark.parametrize(
    ("m", "signed", "rows"), [(8, True, 4), (8, False, 5), (11, False, 6), (32, True, 16)]
)
def test_booth_row_count(m, signed, rows):
    assert c.booth_rows(m, m, signed) == rows


def test_booth_4x4_cells_by_hand():
    # Signed 4x4: 2 rows of 5 selected bits + sign-extension bits (3 on row 0, 2 on row 1) and a
    # negate bit per row. Column heights 0..7: row 0 covers 0-7 (5 + 3), row 1 covers 2-7 (5 + 2,
    # one past the 8-bit product dropped), negates at 0 and 2: [2, 1, 3, 2, 2, 2, 2, 2]. Dadda to
    # height 2: a half adder in column 2, whose carry makes column 3 three high, and so on up to
    # column 7: 6 HA. Then a 7-bit ripple CPA (7 FA).
    comp = c.booth_multiplier(4, signed=True)
    assert comp.cells == {"xor2": 4, "and2": 2, "aoi22": 10, "xnor2": 10, "fa": 7, "ha": 6}


def test_booth_beats_dadda_at_32_bits():
    assert c.booth_multiplier(32, signed=True).gates < c.tree_multiplier(32).gates


def test_compound_adder_adds_an_or_and_xor_per_bit():
    base, comp = c.prefix_adder(8), c.compound_adder(8)
    assert comp.cells["or2"] == 8
    assert comp.cells["xor2"] == base.cells["xor2"] + 8
    assert comp.gates > base.gates


def test_leading_zero_anticipator_by_hand_for_4_bits():
    # 4 x (AND2 + NOR2 + 2 AOI22 + MUX2) plus a 4-bit LZC (level 1: 2 OR2 + 2 INV; level 2:
    # 1 OR2 + 1 MUX2).
    comp = c.leading_zero_anticipator(4)
    assert comp.cells == {"and2": 4, "nor2": 4, "aoi22": 8, "mux2": 5, "or2": 3, "inv": 2}


def test_special_values_by_hand_for_fp16():
    # per operand: 4 AND2 (exp all ones) + 3 AND2 decode, 4 OR2 (exp zero) + 9 OR2 (fraction).
    comp = c.special_values(5, 10)
    assert comp.cells == {"and2": 2 * 7 + 3, "or2": 2 * 13 + 3}


def test_duty_scales_energy_not_area():
    from hwmodels.activity import switched_ge

    full = c.mux_row(8, "select")
    rare = c.mux_row(8, "select", duty=0.25)
    assert full.gates == rare.gates
    assert switched_ge([rare]) == pytest.approx(0.25 * switched_ge([full]))
