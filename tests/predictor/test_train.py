"""Training: twin-safe splits, masked log-space loss, learning a toy, determinism, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.toy_graphs import toy_data

from predictor import checkpoint as ck
from predictor.errors import CheckpointError, TrainingError
from predictor.evaluate import compare, metrics, noise_floor
from predictor.features import features_list, featurize
from predictor.model import to_tensors
from predictor.train import (
    NODE_FLOOR_SHARE,
    GNNRegressor,
    TrainingData,
    label_matrix,
    label_weights,
    masked_l1,
    node_label_matrices,
    node_loss,
    split_by_architecture,
    split_leave_space_out,
)

FAST = {"hidden": 32, "epochs": 60, "patience": 60, "batch_size": 16, "lr": 5e-3, "threads": 1}


@pytest.fixture(scope="module")
def data():
    return toy_data(24, seed=0)


@pytest.fixture(scope="module")
def fitted(data):
    tr, va, _ = split_by_architecture(data.arch_ids, seed=0)
    return GNNRegressor(seed=0, **FAST).fit(data.subset(tr), data.subset(va))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_never_separates_twins(data, seed):
    parts = split_by_architecture(data.arch_ids, 0.2, 0.2, seed)
    archs = [{data.arch_ids[i] for i in p} for p in parts]
    assert not (archs[0] & archs[1]) and not (archs[0] & archs[2]) and not (archs[1] & archs[2])
    assert sorted(i for p in parts for i in p) == list(range(len(data.graphs)))
    assert all(parts)


def test_split_is_deterministic(data):
    assert split_by_architecture(data.arch_ids, seed=3) == split_by_architecture(
        data.arch_ids, seed=3
    )
    assert split_by_architecture(data.arch_ids, seed=3) != split_by_architecture(
        data.arch_ids, seed=4
    )


def test_leave_space_out(data):
    tr, va, te = split_leave_space_out(data.spaces, data.arch_ids, "wide")
    assert {data.spaces[i] for i in te} == {"wide"}
    assert {data.spaces[i] for i in tr + va} == {"small"}
    with pytest.raises(TrainingError, match="search space 'huge' not in the data"):
        split_leave_space_out(data.spaces, data.arch_ids, "huge")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((["a", "b"],), "at least 3 architectures"),
        ((["a", "b", "c"], 0.6, 0.5), "val_frac \\+ test_frac"),
    ],
)
def test_split_errors(args, match):
    with pytest.raises(TrainingError, match=match):
        split_by_architecture(*args)


def test_label_matrix_masks_missing_and_null(data):
    y, mask = label_matrix(data.labels[:2], ["cpu-xnnpack-1t", "ethos-u55-128"])
    # fp32 graph: no Ethos-U labels; int8 graph: storage_kb is None.
    assert mask[0, 4:].sum() == 0
    assert mask[1, 4:].tolist() == [1, 1, 1, 0]
    assert y[0, 0] == pytest.approx(np.log(data.labels[0]["cpu-xnnpack-1t"]["latency_ms"]))


def test_masked_loss_ignores_masked_entries():
    pred = torch.tensor([[0.0, 100.0]])
    y = torch.tensor([[1.0, 0.0]])
    assert float(masked_l1(pred, y, torch.tensor([[1.0, 0.0]]))) == pytest.approx(1.0)


def test_training_learns_the_toy(data, fitted):
    h = fitted.history_
    assert h[-1]["train_loss"] < 0.5 * h[0]["train_loss"]
    _, _, te = split_by_architecture(data.arch_ids, seed=0)
    test = data.subset(te)
    result = compare(fitted, data.subset(split_by_architecture(data.arch_ids, seed=0)[0]), test)
    row = next(
        r
        for r in result["rows"]
        if r["target"] == "cpu-xnnpack-1t"
        and r["metric"] == "latency_ms"
        and r["space"] == "all"
        and r["predictor"] == "gnn"
    )
    assert row["mape"] < 35 and row["kendall_tau"] > 0.5
    assert {r["predictor"] for r in result["rows"]} == {"gnn", "macs", "analytic", "gbm"}


def test_training_is_deterministic(data):
    sub = data.subset(range(16))
    a = GNNRegressor(seed=5, **{**FAST, "epochs": 3}).fit(sub)
    b = GNNRegressor(seed=5, **{**FAST, "epochs": 3}).fit(sub)
    np.testing.assert_allclose(a.predict_log(sub.graphs), b.predict_log(sub.graphs), rtol=1e-5)


def test_early_stopping_stops(data):
    reg = GNNRegressor(seed=0, **{**FAST, "epochs": 200, "patience": 2, "lr": 1e-9}).fit(
        data.subset(range(8)), data.subset(range(8, 16))
    )
    assert len(reg.history_) < 200


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ([{}, {}], "no target has a label"),
        ([{"x": {"latency_ms": -1.0}}, {"x": {"latency_ms": 0.0}}], "no usable"),
    ],
)
def test_fit_errors(data, labels, match):
    sub = data.subset([0, 1])
    sub.labels = labels
    with pytest.raises(TrainingError, match=match):
        GNNRegressor(**FAST).fit(sub)


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"dropout": 1.0}, "dropout must be in"),
        ({"weight_decay": -1e-4}, "weight_decay must be"),
        ({"analytic_weight": -0.5}, "analytic_weight must be"),
    ],
)
def test_fit_refuses_bad_regularisation(data, option, match):
    with pytest.raises(TrainingError, match=match):
        GNNRegressor(**{**FAST, **option}).fit(data.subset([0, 1]))


def test_mismatched_training_data(data):
    from predictor.train import TrainingData

    with pytest.raises(TrainingError, match="equally long"):
        TrainingData(data.graphs[:2], data.labels[:1], data.arch_ids[:2], data.spaces[:2])


def test_metrics_and_noise_floor():
    m = metrics(np.array([1.0, 2.15, 2.9, 5.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    assert m["mape"] == pytest.approx(100 * (0 + 0.075 + 1 / 30 + 0.25) / 4)
    assert m["within10"] == 75.0
    assert m["kendall_tau"] == pytest.approx(1.0)
    assert noise_floor([]) is None
    assert noise_floor([(1.0, 1.1), (2.0, 2.0)])["mape"] == pytest.approx(5.0)


def test_checkpoint_round_trip(fitted, data, tmp_path):
    path = ck.save_checkpoint(
        fitted, tmp_path / "m.pt", {"dataset_hash": "abc", "command": "edgeperf train"}
    )
    model, meta = ck.load_checkpoint(path)
    assert meta["targets"] == fitted.targets_ and meta["dataset_hash"] == "abc"
    assert meta["schema"]["version"] >= 1 and meta["command"] == "edgeperf train"
    from predictor.features import graph_features
    from predictor.train import predict_log

    feats = [graph_features(g) for g in data.graphs[:4]]
    np.testing.assert_allclose(
        predict_log(model, feats), fitted.predict_log(data.graphs[:4]), rtol=1e-6
    )


def _resave(path, mutate):
    blob = torch.load(path, weights_only=True)
    mutate(blob)
    torch.save(blob, path)


def test_checkpoint_refuses_tampered_weights(fitted, tmp_path):
    path = ck.save_checkpoint(fitted, tmp_path / "m.pt")
    _resave(path, lambda b: b["state_dict"]["head.2.bias"].add_(1.0))
    with pytest.raises(CheckpointError, match="does not match the recorded .* altered"):
        ck.load_checkpoint(path)


def test_checkpoint_refuses_other_schema(fitted, tmp_path):
    import json

    path = ck.save_checkpoint(fitted, tmp_path / "m.pt")

    def other(b):
        meta = json.loads(b["meta_json"])
        meta["schema_hash"] = "0" * 16
        b["meta_json"] = json.dumps(meta)

    _resave(path, other)
    with pytest.raises(CheckpointError, match="feature schema 0000000000000000 .* does not match"):
        ck.load_checkpoint(path)


def test_checkpoint_refuses_pickled_code(tmp_path):
    import pickle

    path = tmp_path / "evil.pt"

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"meta_json": "{}", "state_dict": Evil()}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="not a loadable weights-only checkpoint"):
        ck.load_checkpoint(path)


@pytest.mark.parametrize(
    ("content", "match"), [(None, "no checkpoint at"), (b"junk", "not a loadable")]
)
def test_checkpoint_missing_or_junk(tmp_path, content, match):
    path = tmp_path / "x.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        ck.load_checkpoint(path)


def _with_per_op(data: TrainingData) -> TrainingData:
    """``data`` with per-op U55 latencies (2 ns per MAC + 1 us per op) on every int8 graph."""
    nodes = [
        {"ethos-u55-128": [1e-3 + 2e-6 * op.macs for op in g.main.ops]}
        if "ethos-u55-128" in lab
        else {}
        for g, lab in zip(data.graphs, data.labels, strict=True)
    ]
    return TrainingData(data.graphs, data.labels, data.arch_ids, data.spaces, data.noise, nodes)


def test_node_label_matrices_fill_latency_of_main_ops_only(data):
    d = _with_per_op(data)
    i = next(k for k, n in enumerate(d.node_labels) if n)
    targets = ["cpu-xnnpack-1t", "ethos-u55-128"]
    feats = features_list([d.graphs[i], d.graphs[i - 1]])
    bad = {"ethos-u55-128": [1.0]}  # one value for a graph of several ops: skipped
    (y, mask, floored), skipped = node_label_matrices(
        [d.graphs[i], d.graphs[i - 1]], feats, [d.node_labels[i], bad], targets
    )
    assert skipped is None
    col = 4  # ethos-u55-128 latency_ms: target-major, latency first
    assert mask[:, col].all() and mask.sum() == len(d.graphs[i].main.ops)
    np.testing.assert_allclose(np.exp(y[:, col]), d.node_labels[i]["ethos-u55-128"], rtol=1e-5)
    assert not floored.any()  # every op here is over 0.1 % of its graph


def test_ops_worth_nothing_are_floored_and_only_pay_for_exceeding_it(data):
    g = data.graphs[0]
    n = len(g.main.ops)
    ms = [0.0] + [1.0] * (n - 1)  # a fused op Vela gives no cycles
    feats = features_list([g])
    ((y, mask, floored),) = node_label_matrices([g], feats, [{"ethos-u55-128": ms}], ["ethos-u55-128"])
    floor = NODE_FLOOR_SHARE * (n - 1)
    assert floored[0, 0] == 1 and floored[1:n].sum() == 0
    assert np.exp(y[0, 0]) == pytest.approx(floor, rel=1e-5)
    yt, mt, ft = (torch.from_numpy(a) for a in (y, mask, floored))
    at_target = node_loss(yt.clone(), yt, mt, ft)
    below = yt.clone()
    below[0, 0] -= 5.0  # under the floor: free
    above = yt.clone()
    above[0, 0] += 2.0  # over it: paid
    assert node_loss(below, yt, mt, ft) == at_target == 0
    assert node_loss(above, yt, mt, ft).item() == pytest.approx(2.0 / mask.sum())
    wrong = yt.clone()
    wrong[1, 0] -= 3.0  # a real op predicted too low is paid whatever the floor
    assert node_loss(wrong, yt, mt, ft).item() == pytest.approx(3.0 / mask.sum())


def test_mismatched_node_labels_are_refused(data):
    with pytest.raises(TrainingError, match="node_labels must be empty or one per graph"):
        TrainingData(data.graphs, data.labels, data.arch_ids, data.spaces, {}, [{}])


def test_per_op_targets_teach_the_per_op_contributions(data):
    d = _with_per_op(data)
    tr, va, te = split_by_architecture(d.arch_ids, seed=0)
    cfg = {**FAST, "readout": "lse", "epochs": 40}
    test = d.subset(te)
    errors = {}
    for weight in (0.0, 1.0):
        reg = GNNRegressor(seed=0, node_weight=weight, **cfg).fit(d.subset(tr), d.subset(va))
        assert reg.node_graphs_ == (0 if weight == 0 else sum(bool(n) for n in d.subset(tr).node_labels))
        targets = reg.targets_
        feats = features_list(test.graphs)
        sets = node_label_matrices(test.graphs, feats, test.node_labels, targets)
        with torch.inference_mode():
            _, per_op = reg.model_(**to_tensors(featurize(test.graphs)), return_nodes=True)
        ys = np.concatenate([s[0] if s else np.zeros((len(f[0]), per_op.shape[1])) for s, f in zip(sets, feats)])
        ms = np.concatenate([s[1] if s else np.zeros((len(f[0]), per_op.shape[1])) for s, f in zip(sets, feats)])
        errors[weight] = float((np.abs(per_op.numpy() - ys) * ms).sum() / ms.sum())
    # Unsupervised contributions only have to sum right; supervised ones match each op.
    assert errors[1.0] < 0.5 * errors[0.0], errors


def test_bidirectional_model_round_trips_through_a_checkpoint(data, tmp_path):
    tr, va, _ = split_by_architecture(data.arch_ids, seed=0)
    reg = GNNRegressor(seed=0, readout="lse", bidirectional=True, **{**FAST, "epochs": 3})
    reg.fit(data.subset(tr), data.subset(va))
    model, meta = ck.load_checkpoint(ck.save_checkpoint(reg, tmp_path / "b.pt"))
    assert meta["model"]["bidirectional"] is True and model.rev_convs is not None
    from predictor.features import graph_features
    from predictor.train import predict_log

    feats = [graph_features(g) for g in data.graphs[:4]]
    np.testing.assert_allclose(predict_log(model, feats), reg.predict_log(data.graphs[:4]), rtol=1e-6)


def test_ensemble_averages_members_and_member_zero_is_the_single_model(data, fitted, tmp_path):
    from predictor.model import PerfEnsemble

    tr, va, _ = split_by_architecture(data.arch_ids, seed=0)
    cfg = {**FAST, "epochs": 20, "patience": 20}
    single = GNNRegressor(seed=0, **cfg).fit(data.subset(tr), data.subset(va))
    ens = GNNRegressor(seed=0, members=2, **cfg).fit(data.subset(tr), data.subset(va))
    assert isinstance(ens.model_, PerfEnsemble) and ens.model_.config["members"] == 2
    first, second = ens.model_.members
    for name, t in single.model_.state_dict().items():
        torch.testing.assert_close(first.state_dict()[name], t, rtol=0, atol=0)
    assert not torch.equal(first.inp.weight, second.inp.weight)  # seeded apart
    assert len(ens.member_best_epochs_) == 2 and ens.best_epoch_ == max(ens.member_best_epochs_)
    fb = to_tensors(featurize(data.graphs[:6]))
    with torch.inference_mode():
        mean = (first(**fb) + second(**fb)) / 2
        torch.testing.assert_close(ens.model_(**fb), mean)
    # The ensemble's validation loss is its own, not a member's.
    vy, vm = label_matrix(data.subset(va).labels, ens.targets_)
    pred = torch.from_numpy(ens.predict_log(data.subset(va).graphs))
    assert ens.best_loss_ == pytest.approx(float(masked_l1(pred, torch.from_numpy(vy), torch.from_numpy(vm))))
    path = ck.save_checkpoint(ens, tmp_path / "ens.pt")
    model, meta = ck.load_checkpoint(path)
    assert isinstance(model, PerfEnsemble) and meta["model"]["members"] == 2
    np.testing.assert_allclose(
        ck.load_checkpoint(path)[0](**fb).detach().numpy(), ens.predict_log(data.graphs[:6]), rtol=1e-6
    )


def test_ensemble_members_train_the_same_in_worker_processes(data, capfd):
    tr, va, _ = split_by_architecture(data.arch_ids, seed=0)
    cfg = {**FAST, "epochs": 8, "patience": 8, "members": 2}
    here = GNNRegressor(seed=0, **cfg).fit(data.subset(tr), data.subset(va))
    apart = GNNRegressor(seed=0, workers=2, report_every=4, **cfg).fit(data.subset(tr), data.subset(va))
    shown = capfd.readouterr().out
    assert "member 0 epoch    4" in shown and "member 1 epoch    4" in shown
    assert apart.member_best_epochs_ == here.member_best_epochs_
    for name, t in here.model_.state_dict().items():
        torch.testing.assert_close(apart.model_.state_dict()[name], t)


@pytest.mark.parametrize(("option", "match"), [({"members": 0}, "members must be"), ({"workers": 0}, "workers must be")])
def test_fit_refuses_bad_ensemble_options(data, option, match):
    with pytest.raises(TrainingError, match=match):
        GNNRegressor(**{**FAST, **option}).fit(data.subset([0, 1]))


def test_predictor_can_answer_with_the_first_members_of_an_ensemble(data, tmp_path):
    from predictor.model import PerfGNN
    from predictor.predict import Predictor

    tr, va, _ = split_by_architecture(data.arch_ids, seed=0)
    ens = GNNRegressor(seed=0, members=2, **{**FAST, "epochs": 6, "patience": 6}).fit(data.subset(tr), data.subset(va))
    path = ck.save_checkpoint(ens, tmp_path / "ens.pt")
    whole, first = Predictor.load(path, registry=tmp_path / "t.json"), Predictor.load(path, registry=tmp_path / "t.json", members=1)
    assert isinstance(first.model, PerfGNN)
    graphs = data.graphs[:5]
    fb = to_tensors(featurize(graphs))
    with torch.inference_mode():
        member0 = ens.model_.members[0](**fb).numpy()
    # predict_array is [graphs, targets, metrics] in output order: flattened, member 0's outputs.
    got = first.predict_array(graphs).reshape(len(graphs), -1)
    np.testing.assert_allclose(np.log(got), member0, rtol=1e-5)
    assert not np.allclose(whole.predict_array(graphs), first.predict_array(graphs))
    with pytest.raises(ValueError, match=r"members must be an int in \[1, 2\]"):
        Predictor.load(path, registry=tmp_path / "t.json", members=3)


def test_ensemble_first_members_share_weights_and_average_only_those(data):
    from predictor.model import PerfEnsemble

    ens = PerfEnsemble(3, n_outputs=4, hidden=16).eval()
    two = ens.first(2)
    assert two.config["members"] == 2 and two.members[1] is ens.members[1]
    fb = to_tensors(featurize(data.graphs[:3]))
    with torch.inference_mode():
        torch.testing.assert_close(two(**fb), (ens.members[0](**fb) + ens.members[1](**fb)) / 2)
    assert ens.first(1) is ens.members[0] and ens.first(3) is ens


def test_arrays_prepared_and_pickled_apart_train_what_fit_trains(data):
    import pickle

    d = _with_per_op(data)
    tr, va, _ = split_by_architecture(d.arch_ids, seed=0)
    cfg = {**FAST, "readout": "lse", "epochs": 6, "patience": 6, "members": 2}
    whole = GNNRegressor(seed=0, **cfg).fit(d.subset(tr), d.subset(va))
    arrays = pickle.loads(pickle.dumps(GNNRegressor(seed=0, **cfg).prepare(d.subset(tr), d.subset(va))))
    apart = GNNRegressor(seed=0, **cfg).fit_arrays(arrays)
    assert apart.targets_ == whole.targets_ and apart.node_graphs_ == whole.node_graphs_ > 0
    assert apart.best_loss_ == pytest.approx(whole.best_loss_, rel=1e-6)
    for name, t in whole.model_.state_dict().items():
        torch.testing.assert_close(apart.model_.state_dict()[name], t, rtol=0, atol=0)
    # Per-op targets are built for the lse readout; a mean readout cannot train on them.
    with pytest.raises(TrainingError, match="carry per-op targets, which readout 'mean'"):
        GNNRegressor(seed=0, **{**cfg, "readout": "mean"}).fit_arrays(arrays)


class _Interrupt(Exception):
    pass


def test_training_resumes_where_it_was_killed_and_ends_as_an_uninterrupted_run(data, tmp_path):
    d = _with_per_op(data)
    tr, va, _ = split_by_architecture(d.arch_ids, seed=0)
    cfg = {**FAST, "readout": "lse", "dropout": 0.1, "epochs": 7, "patience": 7, "seed": 3}
    whole = GNNRegressor(**cfg).fit(d.subset(tr), d.subset(va))

    def kill_at_epoch_4(epoch, train_loss, val_loss):
        if epoch == 4:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        GNNRegressor(state_dir=tmp_path, progress=kill_at_epoch_4, **cfg).fit(d.subset(tr), d.subset(va))
    (saved,) = tmp_path.glob("member-*.pt")
    assert torch.load(saved, weights_only=True)["epoch"] == 4  # epochs 0-3 done, 4 was cut short
    seen = []
    resumed = GNNRegressor(state_dir=tmp_path, progress=lambda e, *_: seen.append(e), **cfg).fit(
        d.subset(tr), d.subset(va)
    )
    assert seen == [4, 5, 6]
    assert resumed.history_ == whole.history_ and resumed.best_epoch_ == whole.best_epoch_
    for name, t in whole.model_.state_dict().items():
        torch.testing.assert_close(resumed.model_.state_dict()[name], t, rtol=0, atol=0)
    assert resumed.state_files_ == [saved]
    # A finished run is not trained again: the same fit returns its result at once.
    again = GNNRegressor(state_dir=tmp_path, progress=lambda e, *_: seen.append(e), **cfg).fit(
        d.subset(tr), d.subset(va)
    )
    assert seen == [4, 5, 6] and again.history_ == whole.history_


def test_training_state_is_kept_apart_per_run_and_a_damaged_one_is_ignored(data, tmp_path):
    sub, val = data.subset(range(12)), data.subset(range(12, 16))
    cfg = {**FAST, "epochs": 3, "patience": 3}
    GNNRegressor(state_dir=tmp_path, **cfg).fit(sub, val)
    GNNRegressor(state_dir=tmp_path, **{**cfg, "lr": 1e-3}).fit(sub, val)  # other options: other run
    GNNRegressor(state_dir=tmp_path, **cfg).fit(data.subset(range(1, 13)), val)  # other data: other run
    files = sorted(tmp_path.glob("member-*.pt"))
    assert len(files) == 3
    fresh = GNNRegressor(**cfg).fit(sub, val)
    first = GNNRegressor(state_dir=tmp_path, **cfg)._state_file(GNNRegressor(**cfg).prepare(sub, val), 0)
    first.write_bytes(first.read_bytes()[:100])  # cut short, as by a full disk
    redone = GNNRegressor(state_dir=tmp_path, **cfg).fit(sub, val)
    assert redone.history_ == fresh.history_
    assert torch.load(first, weights_only=True)["done"]  # and saved whole again


def _with_npu_labels(data: TrainingData, seed: int) -> TrainingData:
    """``data`` with an ``npu-int8`` latency on every graph, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    out = data.subset(range(len(data.graphs)))
    out.labels = [{**lab, "npu-int8": {"latency_ms": float(rng.uniform(0.1, 10.0))}} for lab in out.labels]
    return out


def test_label_weights_weigh_analytic_targets_only():
    w = label_weights(["cpu-xnnpack-1t", "npu-int8", "ethos-u65-256", "my-board"], 0.25)
    np.testing.assert_array_equal(w, np.repeat([1.0, 0.25, 1.0, 1.0], 4).astype(np.float32))


def test_analytic_weight_zero_leaves_training_blind_to_analytic_labels(data):
    tr, va, _ = split_by_architecture(data.arch_ids, seed=0)
    opts = {**FAST, "epochs": 4, "seed": 3}
    a, b = (_with_npu_labels(data, s) for s in (1, 2))
    fits = [
        GNNRegressor(analytic_weight=w, **opts).fit(d.subset(tr), d.subset(va))
        for w in (0.0, 1.0)
        for d in (a, b)
    ]
    targets = fits[0].targets_
    assert "npu-int8" in targets
    others = np.repeat([t != "npu-int8" for t in targets], 4)
    preds = [f.predict_log(data.subset(va).graphs)[:, others] for f in fits]
    # At weight 0 the npu-int8 labels change nothing else the model predicts; at 1 they do.
    np.testing.assert_array_equal(preds[0], preds[1])
    assert np.abs(preds[2] - preds[3]).max() > 1e-4
    # The validation loss early stopping used is the weighted one.
    val = a.subset(va)
    y, mask = label_matrix(val.labels, targets)
    pred = torch.from_numpy(fits[0].predict_log(val.graphs))
    expected = masked_l1(pred, torch.from_numpy(y), torch.from_numpy(mask * others))
    assert fits[0].best_loss_ == pytest.approx(float(expected), rel=1e-5)
