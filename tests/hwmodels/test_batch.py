"""The vectorised analytic prior equals hwmodels' estimate, layer by layer and in total."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import zoo

from hwmodels.accelerator import ACCELERATORS, estimate
from hwmodels.batch import LayerWorkArrays, layer_costs, model_totals
from hwmodels.errors import EstimateError
from hwmodels.work import LayerWork, OpKind
from predictor.reader import read_model

FIELDS = ("latency_ms", "mac_mj", "sram_mj", "offchip_mj", "static_mj", "sram_kb", "utilisation")


def _assert_equal_to_hwmodels(works: list[LayerWork], accelerator: str) -> None:
    want = estimate(works, accelerator)
    got = layer_costs(LayerWorkArrays.from_works(works), accelerator)
    for name in FIELDS:
        ref = np.array([getattr(c, name) for c in want.layers])
        np.testing.assert_allclose(getattr(got, name), ref, rtol=1e-12, atol=0, err_msg=name)
    ref = np.array([c.energy_mj for c in want.layers])
    np.testing.assert_allclose(got.energy_mj, ref, rtol=1e-12, atol=0)
    latency, energy, peak = model_totals(got, np.zeros(len(works), np.int64), 1)
    assert latency[0] == pytest.approx(want.latency_ms, rel=1e-12, abs=0)
    assert energy[0] == pytest.approx(want.energy_mj, rel=1e-12, abs=0)
    assert peak[0] == want.peak_sram_kb


@pytest.fixture(scope="module")
def zoo_works() -> list[list[LayerWork]]:
    return [read_model(zoo.model_path(n, p)).layer_works() for n, p in zoo.all_cases()]


@pytest.mark.parametrize("accelerator", sorted(ACCELERATORS))
def test_zoo_layers_equal_hwmodels(zoo_works, accelerator):
    for works in zoo_works:
        _assert_equal_to_hwmodels(works, accelerator)


_kinds = st.sampled_from(list(OpKind))
_count = st.integers(0, 10**7)


@st.composite
def layer_works(draw) -> LayerWork:
    return LayerWork(
        name="l",
        op_kind=draw(_kinds),
        macs=draw(st.integers(0, 10**9)),
        elem_ops=draw(_count),
        weight_elems=draw(_count),
        input_elems=draw(_count),
        output_elems=draw(_count),
        kernel_hw=(draw(st.integers(0, 7)), draw(st.integers(0, 7))),
        out_channels=draw(st.integers(0, 4096)),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(layer_works(), min_size=1, max_size=12), st.sampled_from(sorted(ACCELERATORS)))
def test_random_layers_equal_hwmodels(works, accelerator):
    # LayerWork's reduction as OpGraph.layer_works() derives it.
    works = [
        replace(w, reduction=w.macs // w.output_elems if w.output_elems and w.macs else 0)
        for w in works
    ]
    _assert_equal_to_hwmodels(works, accelerator)


def test_totals_per_graph_in_a_batch(zoo_works):
    works = zoo_works[:6]
    flat = [w for ws in works for w in ws]
    graph = np.repeat(np.arange(len(works)), [len(ws) for ws in works])
    latency, energy, peak = model_totals(layer_costs(LayerWorkArrays.from_works(flat), "npu-int8"), graph, len(works))
    for i, ws in enumerate(works):
        want = estimate(ws, "npu-int8")
        assert (latency[i], energy[i], peak[i]) == (
            want.latency_ms,
            want.energy_mj,
            want.peak_sram_kb,
        )


def test_negative_counts_are_refused():
    works = [LayerWork("a", OpKind.CONV, macs=10, output_elems=-1)]
    with pytest.raises(EstimateError, match="element counts must be >= 0, got output_elems=-1"):
        layer_costs(LayerWorkArrays.from_works(works), "npu-int8")


def test_empty_batch():
    costs = layer_costs(LayerWorkArrays.from_works([]), "npu-int8")
    assert costs.latency_ms.shape == (0,)
    latency, energy, peak = model_totals(costs, np.zeros(0, np.int64), 2)
    assert latency.tolist() == energy.tolist() == peak.tolist() == [0.0, 0.0]
