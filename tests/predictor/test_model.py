"""The GNN: every conv/readout choice runs, outputs the right shape, and is permutation-safe."""

from __future__ import annotations

import pytest
import torch
from support.toy_graphs import toy_graph

from predictor.features import featurize
from predictor.model import PerfGNN, to_tensors


@pytest.mark.parametrize(
    ("conv", "readout", "global_node"),
    [
        ("sage", "mean", False),
        ("sage", "sum", False),
        ("gin", "mean", False),
        ("gat", "mean+sum", False),
        ("sage", "mean", True),
        ("sage", "lse", True),
        ("sage", "lse", "bidirectional"),
        ("gin", "mean", "bidirectional"),
        ("gat", "sum", "bidirectional"),
    ],
)
def test_forward_shapes(conv, readout, global_node):
    torch.manual_seed(0)
    bidirectional = global_node == "bidirectional"
    model = PerfGNN(8, conv=conv, hidden=16, readout=readout, global_node=bool(global_node),
                    bidirectional=bidirectional).eval()  # fmt: skip
    fb = featurize([toy_graph([3, 8, 16], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)])
    out = model(**to_tensors(fb))
    assert out.shape == (2, 8)
    assert torch.isfinite(out).all()


def test_graph_order_does_not_change_predictions():
    torch.manual_seed(0)
    model = PerfGNN(4, hidden=16).eval()
    a, b = toy_graph([3, 8, 16], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)
    with torch.inference_mode():
        ab = model(**to_tensors(featurize([a, b])))
        ba = model(**to_tensors(featurize([b, a])))
    torch.testing.assert_close(ab, ba.flip(0))


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"conv": "gcn"}, "conv must be one of"), ({"readout": "max"}, "readout must be one of")],
)
def test_bad_choices(kw, match):
    with pytest.raises(ValueError, match=match):
        PerfGNN(4, **kw)


def test_lse_readout_adds_per_op_contributions():
    """With the per-graph correction zeroed, a graph's value is the sum of its ops' values."""
    torch.manual_seed(0)
    model = PerfGNN(3, hidden=16, readout="lse").eval()
    for layer in (model.head[-1], model.linear):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    fb = featurize([toy_graph([3, 8, 16], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)])
    t = to_tensors(fb)
    captured = {}
    model.node_head.register_forward_hook(lambda _m, _i, out: captured.setdefault("a", out))
    with torch.inference_mode():
        out = model(**t)
    per_op = torch.exp(captured["a"] * model.y_std + model.y_mean) / 32.0
    sums = torch.zeros(2, 3).index_add_(0, t["batch"], per_op)
    torch.testing.assert_close(torch.exp(out), sums)


def test_lse_readout_returns_its_per_op_contributions():
    torch.manual_seed(0)
    model = PerfGNN(3, hidden=16, readout="lse").eval()
    t = to_tensors(featurize([toy_graph([3, 8, 16], 16, "fp32", 1), toy_graph([3, 4], 8, "int8", 2)]))
    with torch.inference_mode():
        out, per_op = model(**t, return_nodes=True)
        torch.testing.assert_close(out, model(**t))
    assert per_op.shape == (len(t["x"]), 3)
    with pytest.raises(ValueError, match="only with the lse readout"):
        PerfGNN(3, hidden=16, readout="mean")(**t, return_nodes=True)


def test_bidirectional_lets_an_op_see_its_consumers():
    # In a chain, the first op's state depends on what follows it only with reversed messages.
    torch.manual_seed(0)
    short, longer = toy_graph([3, 8], 16, "fp32", 1), toy_graph([3, 8, 16], 16, "fp32", 1)
    for bidirectional, differs in ((False, False), (True, True)):
        model = PerfGNN(4, hidden=16, readout="lse", bidirectional=bidirectional).eval()
        with torch.inference_mode():
            _, a = model(**to_tensors(featurize([short])), return_nodes=True)
            _, b = model(**to_tensors(featurize([longer])), return_nodes=True)
        assert (not torch.allclose(a[0], b[0])) is differs
        assert ("bidirectional" in model.config) is bidirectional
