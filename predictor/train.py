"""Training the performance GNN: architecture-grouped splits, masked log-space loss, early stopping.

Labels are the dataset's per-target numbers; a missing or null one is masked out of the loss. The
loss is L1 on the natural log of each metric, a symmetric MAPE-style loss (PerfSAGE trains on
MAPE). Splits keep the fp32 and int8 twins of one architecture on the same side.

Where a graph also has per-op latencies of a target (Vela's per-layer cycles), the ``lse``
readout's per-op contributions are trained on them too: dozens of targets per graph instead of one.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import pickle
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from predictor.errors import TrainingError
from predictor.features import FeatureBatch, GraphFeatures, collate, features_list, featurize
from predictor.graph import OpGraph
from predictor.model import PerfEnsemble, PerfGNN, to_tensors
from predictor.targets import METRICS, TARGETS
from predictor.workers import worker_pool

log = logging.getLogger(__name__)

#: The model choices ``edgeperf train --compare`` tries: (conv, readout, global node).
MODEL_CHOICES: tuple[tuple[str, str, bool], ...] = (
    ("sage", "mean", False),  # PerfSAGE
    ("sage", "sum", False),
    ("gin", "mean", False),
    ("gat", "mean", False),
    ("sage", "mean", True),  # BRP-NAS's global node
    ("sage", "lse", True),  # additive: per-op contributions summed
)

#: Per graph: target -> metric -> value (None or absent: no label).
Labels = dict[str, dict[str, float | None]]
#: Per graph: target -> latency (ms) of each op of the main subgraph, in op order.
NodeLabels = dict[str, list[float]]
#: Per-op latencies below this (ms) count as this: an op Vela gives no cycles costs ~nothing.
NODE_FLOOR_MS = 1e-6
#: An op below this share of its graph's total is only taught to stay below it (a hinge), not to
#: hit its value: log-space errors on ops worth ~nothing (Vela's fused or 0-cycle ops) would
#: otherwise outweigh the ops that make the total.
NODE_FLOOR_SHARE = 1e-3


@dataclass(slots=True)
class TrainingData:
    """What ``edgeperf train`` hands to the predictor: graphs, their labels, and their groups.

    Attributes:
        graphs: One :class:`OpGraph` per graph.
        labels: Per graph, target -> metric -> value.
        arch_ids: The architecture each graph was converted from (twins share one).
        spaces: The search space of each graph's architecture.
        noise: Per target, pairs of independent measurements ``(first, again)`` (noise floor).
        node_labels: Per graph, per-op latencies by target (empty: none for any graph).
    """

    graphs: list[OpGraph]
    labels: list[Labels]
    arch_ids: list[str]
    spaces: list[str]
    noise: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    node_labels: list[NodeLabels] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.graphs)
        if not (len(self.labels) == len(self.arch_ids) == len(self.spaces) == n):
            raise TrainingError(
                f"graphs, labels, arch_ids and spaces must be equally long; got {n}, "
                f"{len(self.labels)}, {len(self.arch_ids)}, {len(self.spaces)}"
            )
        if self.node_labels and len(self.node_labels) != n:
            raise TrainingError(
                f"node_labels must be empty or one per graph; got {len(self.node_labels)} for {n}"
            )

    def subset(self, idx: Sequence[int]) -> TrainingData:
        return TrainingData(
            [self.graphs[i] for i in idx],
            [self.labels[i] for i in idx],
            [self.arch_ids[i] for i in idx],
            [self.spaces[i] for i in idx],
            self.noise,
            [self.node_labels[i] for i in idx] if self.node_labels else [],
        )

    def targets(self) -> list[str]:
        """Targets with at least one label, in first-seen order."""
        seen: dict[str, None] = {}
        for row in self.labels:
            for t, metrics in row.items():
                if any(v is not None for v in metrics.values()):
                    seen.setdefault(t, None)
        return list(seen)


def split_by_architecture(
    arch_ids: Sequence[str], val_frac: float = 0.15, test_frac: float = 0.15, seed: int = 0
) -> tuple[list[int], list[int], list[int]]:
    """(train, val, test) graph indices; every architecture's graphs land in one part."""
    if not 0 <= val_frac < 1 or not 0 <= test_frac < 1 or val_frac + test_frac >= 1:
        raise TrainingError(f"val_frac + test_frac must be in [0, 1); got {val_frac} + {test_frac}")
    archs = sorted(set(arch_ids))
    if len(archs) < 3 and (val_frac or test_frac):
        raise TrainingError(f"need at least 3 architectures to split three ways, got {len(archs)}")
    rng = np.random.default_rng(seed)
    order = [archs[i] for i in rng.permutation(len(archs))]
    n_test = max(1, round(test_frac * len(archs))) if test_frac else 0
    n_val = max(1, round(val_frac * len(archs))) if val_frac else 0
    part = {a: 2 for a in order[:n_test]}
    part.update({a: 1 for a in order[n_test : n_test + n_val]})
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for i, a in enumerate(arch_ids):
        parts[part.get(a, 0)].append(i)
    return parts


def split_leave_space_out(
    spaces: Sequence[str],
    arch_ids: Sequence[str],
    held_out: str,
    val_frac: float = 0.15,
    seed: int = 0,
) -> tuple[list[int], list[int], list[int]]:
    """Test on every graph of space ``held_out``; train/val split the other spaces by architecture."""
    if held_out not in set(spaces):
        raise TrainingError(
            f"search space {held_out!r} not in the data; expected one of {sorted(set(spaces))}"
        )
    rest = [i for i, s in enumerate(spaces) if s != held_out]
    test = [i for i, s in enumerate(spaces) if s == held_out]
    tr, va, _ = split_by_architecture([arch_ids[i] for i in rest], val_frac, 0.0, seed)
    return [rest[i] for i in tr], [rest[i] for i in va], test


def output_names(targets: Sequence[str]) -> list[tuple[str, str]]:
    """(target, metric) of every output column, target-major."""
    return [(t, m) for t in targets for m in METRICS]


def label_matrix(labels: Sequence[Labels], targets: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Log-space label matrix ``[G, T*M]`` and its mask (1 where a positive label exists)."""
    cols = output_names(targets)
    y = np.zeros((len(labels), len(cols)), np.float32)
    mask = np.zeros_like(y)
    for i, row in enumerate(labels):
        for j, (t, m) in enumerate(cols):
            v = row.get(t, {}).get(m)
            if v is not None and v > 0 and math.isfinite(v):
                y[i, j] = math.log(v)
                mask[i, j] = 1.0
    return y, mask


def label_weights(targets: Sequence[str], analytic_weight: float = 1.0) -> np.ndarray:
    """Loss weight of each :func:`output_names` column: ``analytic_weight`` for an analytic
    target's, 1 for the rest (a target unknown to :data:`TARGETS` counts as measured)."""
    per_target = [
        analytic_weight if t in TARGETS and TARGETS[t].labels == "analytic" else 1.0
        for t in targets
    ]
    return np.repeat(np.asarray(per_target, np.float32), len(METRICS))


def node_label_matrices(
    graphs: Sequence[OpGraph],
    feats: Sequence[GraphFeatures],
    node_labels: Sequence[NodeLabels],
    targets: Sequence[str],
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """Per graph, log-space per-op targets ``[n_nodes, T*M]``, their mask and floor flags, or None.

    Only the ``latency_ms`` column of a target with per-op labels is filled; the main subgraph's
    ops are a graph's first nodes. An op under :data:`NODE_FLOOR_SHARE` of its graph's total is
    set to that floor and flagged (see :func:`node_loss`). A list whose length is not the main
    subgraph's op count is skipped (it belongs to another reading of the model).
    """
    cols = {t: j for j, (t, m) in enumerate(output_names(targets)) if m == "latency_ms"}
    n_out = len(targets) * len(METRICS)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
    for graph, feat, per_target in zip(graphs, feats, node_labels, strict=True):
        n_main = len(graph.main.ops)
        usable = {
            t: v for t, v in per_target.items() if t in cols and len(v) == n_main <= len(feat[0])
        }
        if not usable:
            out.append(None)
            continue
        y = np.zeros((len(feat[0]), n_out), np.float32)
        mask = np.zeros_like(y)
        floored = np.zeros_like(y)
        for t, values in usable.items():
            v = np.asarray(values, np.float64)
            floor_ms = max(NODE_FLOOR_MS, NODE_FLOOR_SHARE * float(v.sum()))
            y[:n_main, cols[t]] = np.log(np.maximum(v, floor_ms))
            mask[:n_main, cols[t]] = 1.0
            floored[:n_main, cols[t]] = v < floor_ms
        out.append((y, mask, floored))
    return out


class GNNRegressor:
    """Fits a :class:`PerfGNN` to per-target labels (scikit-learn shape).

    Args:
        conv, hidden, layers, readout, global_node, dropout, bidirectional: The model (see
            :class:`PerfGNN`).
        epochs: Upper bound on passes over the training graphs.
        batch_size: Graphs per optimiser step.
        lr: AdamW learning rate (cosine-decayed to 5% over ``epochs``).
        weight_decay: AdamW weight decay.
        patience: Stop after this many epochs without a better validation loss.
        node_weight: Weight of the per-op loss (``lse`` readout and per-op labels only; 0: off).
        analytic_weight: Weight of each label of an analytic target (``npu-*``) relative to the
            others. Those targets are answered by ``hwmodels`` itself (the GNN's copy is a fast
            path), yet label every graph of both precisions: at 1 they hold most of the loss.
        members: Models trained from different seeds and averaged in log space (1: one model).
        workers: Processes training members side by side.
        report_every: Members trained in worker processes print their losses every this many
            epochs (0: silent); the ``progress`` callback serves the in-process case.
        seed: Seeds parameter initialisation and batch order.
        threads: torch intra-op threads.
        state_dir: Directory where each member saves its training state (weights, optimiser,
            schedule, random streams, best epoch so far) after every epoch; a later fit with the
            same options on the same arrays resumes from it and ends where an uninterrupted fit
            would have. ``None``: nothing saved.
        progress: Callback ``(epoch, train_loss, val_loss)`` after every epoch.
    """

    def __init__(
        self,
        conv: str = "sage",
        hidden: int = 128,
        layers: int = 2,
        readout: str = "mean",
        global_node: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        epochs: int = 300,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        patience: int = 40,
        node_weight: float = 1.0,
        analytic_weight: float = 1.0,
        members: int = 1,
        workers: int = 1,
        report_every: int = 0,
        seed: int = 0,
        threads: int = 1,
        state_dir: str | Path | None = None,
        progress: Callable[[int, float, float | None], None] | None = None,
    ) -> None:
        self.conv = conv
        self.hidden = hidden
        self.layers = layers
        self.readout = readout
        self.global_node = global_node
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.node_weight = node_weight
        self.analytic_weight = analytic_weight
        self.members = members
        self.workers = workers
        self.report_every = report_every
        self.seed = seed
        self.threads = threads
        self.state_dir = state_dir
        self.progress = progress

    def model_config(self, n_outputs: int) -> dict[str, Any]:
        return {
            "n_outputs": n_outputs,
            "conv": self.conv,
            "hidden": self.hidden,
            "layers": self.layers,
            "readout": self.readout,
            "global_node": self.global_node,
            "dropout": self.dropout,
            "bidirectional": self.bidirectional,
        }

    def fit(
        self,
        data: TrainingData,
        val: TrainingData | None = None,
        targets: Sequence[str] | None = None,
    ) -> GNNRegressor:
        """Train on ``data``; early-stop on ``val`` (or on the training loss without it).

        With ``members`` > 1, trains that many models (member ``k`` seeded ``seed + k``, so member
        0 is the single model) on ``workers`` processes and keeps their ensemble. The same as
        ``fit_arrays(prepare(data, val, targets))``.
        """
        return self.fit_arrays(self.prepare(data, val, targets))

    def _check_params(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise TrainingError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.weight_decay < 0:
            raise TrainingError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not self.analytic_weight >= 0:
            raise TrainingError(f"analytic_weight must be >= 0, got {self.analytic_weight}")
        if not isinstance(self.members, int) or self.members < 1:
            raise TrainingError(f"members must be an int >= 1, got {self.members!r}")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise TrainingError(f"workers must be an int >= 1, got {self.workers!r}")

    def prepare(
        self,
        data: TrainingData,
        val: TrainingData | None = None,
        targets: Sequence[str] | None = None,
    ) -> FitArrays:
        """What :meth:`fit_arrays` trains on: features, log labels and masks of ``data`` and
        ``val``, and the per-op targets this regressor's readout uses.

        The arrays are a fraction of the graphs' size, so a process that only trains (an
        ensemble member, a leave-one-space-out run) is sent these rather than the graphs.
        """
        self._check_params()
        targets = list(targets) if targets is not None else data.targets()
        if not targets:
            raise TrainingError("no target has a label in the training data")
        if len(data.graphs) < 2:
            raise TrainingError(f"need at least 2 training graphs, got {len(data.graphs)}")
        y, mask = label_matrix(data.labels, targets)
        if not mask.any():
            raise TrainingError(f"no usable (positive, finite) label for targets {targets}")
        feats = features_list(data.graphs)
        val_set = None
        if val is not None and val.graphs:
            vy, vm = label_matrix(val.labels, targets)
            val_set = (featurize(val.graphs), vy, vm)
        node_sets: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
        if self._uses_node_labels() and data.node_labels:
            node_sets = node_label_matrices(data.graphs, feats, data.node_labels, targets)
        node_graphs = sum(ns is not None for ns in node_sets)
        if node_graphs:
            log.info("per-op targets on %d of %d training graphs", node_graphs, len(feats))
        return FitArrays(targets, feats, y, mask, val_set, node_sets)

    def _uses_node_labels(self) -> bool:
        return self.readout == "lse" and self.node_weight > 0

    def fit_arrays(self, arrays: FitArrays) -> GNNRegressor:
        """Train on arrays made by :meth:`prepare` (here or in another process); see :meth:`fit`.

        Raises:
            TrainingError: a bad option, or arrays with per-op targets this readout cannot use.
        """
        self._check_params()
        if any(ns is not None for ns in arrays.node_sets) and not self._uses_node_labels():
            raise TrainingError(
                f"the arrays carry per-op targets, which readout {self.readout!r} with node_weight "
                f"{self.node_weight} cannot use; prepare them with this regressor"
            )
        self.targets_ = list(arrays.targets)
        start = time.perf_counter()
        if self.members == 1:
            runs = [self._fit_member(arrays, 0, self.progress)]
        elif self.workers == 1:
            runs = [self._fit_member(arrays, k, self.progress) for k in range(self.members)]
        else:
            params = self.params()
            with worker_pool(min(self.workers, self.members)) as pool:
                futures = [
                    pool.submit(_fit_member_job, params, arrays, k, self.report_every)
                    for k in range(self.members)
                ]
                runs = [f.result() for f in futures]
        if len(runs) == 1:
            model: PerfGNN | PerfEnsemble = PerfGNN(**runs[0].config)
            model.load_state_dict(runs[0].state)
        else:
            model = PerfEnsemble(len(runs), **runs[0].config)
            for member, run in zip(model.members, runs, strict=True):
                member.load_state_dict(run.state)
        model.eval()
        self.model_ = model
        self.history_ = runs[0].history
        self.node_graphs_ = runs[0].node_graphs
        self.state_files_ = [r.state_file for r in runs if r.state_file is not None]
        self.member_best_epochs_ = [r.best_epoch for r in runs]
        self.member_losses_ = [r.best_loss for r in runs]
        self.best_epoch_ = max(self.member_best_epochs_)
        self.best_loss_ = runs[0].best_loss
        if len(runs) > 1:
            self.best_loss_ = self._arrays_loss(arrays)
        self.train_seconds_ = time.perf_counter() - start
        return self

    def params(self) -> dict[str, Any]:
        """The constructor arguments (without the progress callback, which cannot travel)."""
        return {k: getattr(self, k) for k in _PARAMS}

    def _arrays_loss(self, arrays: FitArrays) -> float:
        """The fitted model's loss on the validation arrays (the training arrays without them)."""
        if arrays.val is not None:
            vfb, y, mask = arrays.val
            pred = torch.from_numpy(forward_log(self.model_, [vfb], self.threads))
        else:
            y, mask = arrays.y, arrays.mask
            pred = torch.from_numpy(predict_log(self.model_, arrays.feats, self.threads))
        weights = torch.from_numpy(label_weights(arrays.targets, self.analytic_weight))
        return float(masked_l1(pred, torch.from_numpy(y), torch.from_numpy(mask) * weights))

    def _fit_member(
        self,
        arrays: FitArrays,
        k: int,
        progress: Callable[[int, float, float | None], None] | None,
    ) -> _MemberFit:
        seed = self.seed + k
        torch.set_num_threads(self.threads)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        feats, y, mask, node_sets = arrays.feats, arrays.y, arrays.mask, arrays.node_sets
        val_set = None
        if arrays.val is not None:
            vfb, vy, vm = arrays.val
            val_set = (vfb, torch.from_numpy(vy), torch.from_numpy(vm))
        node_graphs = sum(ns is not None for ns in node_sets)
        model = PerfGNN(**self.model_config(y.shape[1]))
        full = collate(feats)
        model.set_scaling(
            torch.from_numpy(full.x),
            torch.from_numpy(full.edge_attr),
            torch.from_numpy(full.graph_attr),
            torch.from_numpy(y),
            torch.from_numpy(mask),
        )
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, self.epochs, eta_min=self.lr * 0.05)
        # The mask carries each label's weight: masked_l1 is then the weighted mean error.
        weights = torch.from_numpy(label_weights(arrays.targets, self.analytic_weight))
        yt, mt = torch.from_numpy(y), torch.from_numpy(mask) * weights
        if val_set is not None:
            val_set = (val_set[0], val_set[1], val_set[2] * weights)
        best, best_state, best_epoch, waited = math.inf, None, -1, 0
        history: list[dict[str, float | None]] = []
        first_epoch, done = 0, False
        state_file = self._state_file(arrays, seed) if self.state_dir is not None else None
        if state_file is not None and state_file.exists():
            saved = _load_state(state_file)
            if saved is not None:
                model.load_state_dict(saved["model"])
                opt.load_state_dict(saved["opt"])
                sched.load_state_dict(saved["sched"])
                rng.bit_generator.state = json.loads(saved["np_rng"])
                torch.set_rng_state(saved["torch_rng"])
                best, best_epoch, waited = saved["best"], saved["best_epoch"], saved["waited"]
                best_state = saved["best_state"] or None
                history = json.loads(saved["history"])
                first_epoch, done = saved["epoch"], saved["done"]
                log.info("member %d: resuming at epoch %d from %s", k, first_epoch, state_file)
        for epoch in range(first_epoch, 0 if done else self.epochs):
            model.train()
            order = rng.permutation(len(feats))
            total, weight = 0.0, 0.0
            for s in range(0, len(order), self.batch_size):
                idx = order[s : s + self.batch_size]
                fb = collate([feats[i] for i in idx])
                if node_graphs:
                    pred, per_op = model(**to_tensors(fb), return_nodes=True)
                    ny, nm, nf = _stack_nodes(
                        [node_sets[i] for i in idx], [len(feats[i][0]) for i in idx], y.shape[1]
                    )
                    graph_loss = masked_l1(pred, yt[idx], mt[idx])
                    loss = graph_loss
                    if nm.any():
                        loss = graph_loss + self.node_weight * node_loss(per_op, ny, nm, nf)
                else:
                    pred = model(**to_tensors(fb))
                    graph_loss = loss = masked_l1(pred, yt[idx], mt[idx])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                n = float(mt[idx].sum())
                total += graph_loss.item() * n  # reported: the graph-level loss only
                weight += n
            sched.step()
            train_loss = total / max(weight, 1.0)
            val_loss = None
            if val_set is not None:
                model.eval()
                with torch.inference_mode():
                    val_loss = float(
                        masked_l1(model(**to_tensors(val_set[0])), val_set[1], val_set[2])
                    )
            score = val_loss if val_loss is not None else train_loss
            history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
            if progress is not None:
                progress(epoch, train_loss, val_loss)
            if score < best - 1e-5:
                best, best_state, best_epoch, waited = (
                    score,
                    copy.deepcopy(model.state_dict()),
                    epoch,
                    0,
                )
            else:
                waited += 1
            stop = waited > 0 and waited >= self.patience
            if stop:
                log.info("early stop at epoch %d (best %d, loss %.4f)", epoch, best_epoch, best)
            if state_file is not None:
                _save_state(
                    state_file,
                    {
                        "epoch": epoch + 1,
                        "done": stop or epoch + 1 == self.epochs,
                        "model": model.state_dict(),
                        "opt": opt.state_dict(),
                        "sched": sched.state_dict(),
                        "np_rng": json.dumps(rng.bit_generator.state),
                        "torch_rng": torch.get_rng_state(),
                        "best": best,
                        "best_state": best_state or {},
                        "best_epoch": best_epoch,
                        "waited": waited,
                        "history": json.dumps(history),
                    },
                )
            if stop:
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        state = {name: t.detach().clone() for name, t in model.state_dict().items()}
        return _MemberFit(model.config, state, best_epoch, best, history, node_graphs, state_file)

    def _state_file(self, arrays: FitArrays, seed: int) -> Path:
        """Where the member seeded ``seed`` saves its state: named by everything its training path
        depends on (options, seed, labels, features), so that only the same run resumes."""
        digest = hashlib.sha256()
        digest.update(
            json.dumps(
                {p: getattr(self, p) for p in _STATE_PARAMS} | {"seed": seed}, sort_keys=True
            ).encode()
        )
        digest.update(json.dumps(arrays.targets).encode())
        for a in (arrays.y, arrays.mask):
            digest.update(np.ascontiguousarray(a).tobytes())
        for f in arrays.feats:
            for a in f[:-1]:
                digest.update(np.ascontiguousarray(a).tobytes())
        if arrays.val is not None:
            digest.update(np.ascontiguousarray(arrays.val[1]).tobytes())
        return Path(self.state_dir) / f"member-{digest.hexdigest()[:20]}.pt"

    def predict_log(self, graphs: Sequence[OpGraph]) -> np.ndarray:
        """Log-space predictions ``[G, T*M]`` in :func:`output_names` order."""
        return forward_log(self.model_, feature_batches(graphs), self.threads)


@dataclass
class FitArrays:
    """What training needs, built once from the graphs by :meth:`GNNRegressor.prepare`: the
    targets, per-graph features, log labels and mask, the validation batch, per-op targets. Worker
    processes get these arrays instead of the graphs (6,610-architecture export, two workers:
    ~1.8 GB per worker, was ~7.4 GB)."""

    targets: list[str]
    feats: list[GraphFeatures]
    y: np.ndarray
    mask: np.ndarray
    val: tuple[FeatureBatch, np.ndarray, np.ndarray] | None
    node_sets: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]


@dataclass
class _MemberFit:
    """One trained member: its config, best weights and how it got there."""

    config: dict[str, Any]
    state: dict[str, torch.Tensor]
    best_epoch: int
    best_loss: float
    history: list[dict[str, float | None]]
    node_graphs: int
    state_file: Path | None = None


_PARAMS = (
    "conv", "hidden", "layers", "readout", "global_node", "dropout", "bidirectional", "epochs",
    "batch_size", "lr", "weight_decay", "patience", "node_weight", "analytic_weight", "members", "workers",
    "report_every", "seed", "threads", "state_dir",
)  # fmt: skip

#: What a member's training path depends on: every option but these, which do not change its
#: numbers (a run resumed with other values of them continues the same run; the member's own
#: seed is hashed apart). By exclusion, so that an option added later counts by default.
_STATE_PARAMS = tuple(
    p
    for p in _PARAMS
    if p not in ("members", "workers", "report_every", "seed", "threads", "state_dir")
)


def _fit_member_job(
    params: dict[str, Any],
    arrays: FitArrays,
    k: int,
    report_every: int = 0,
) -> _MemberFit:
    """Member ``k`` in a worker process (module level, so that it pickles); with
    ``report_every``, prints its losses to stdout every that many epochs."""

    def report(epoch: int, train_loss: float, val_loss: float | None) -> None:
        if epoch % report_every == 0:
            shown = "-" if val_loss is None else f"{val_loss:.4f}"
            print(f"  member {k} epoch {epoch:4d}  train {train_loss:.4f}  val {shown}", flush=True)

    reg = GNNRegressor(**params)
    reg.targets_ = list(arrays.targets)
    return reg._fit_member(arrays, k, report if report_every > 0 else None)


def _save_state(path: Path, state: dict[str, Any]) -> None:
    """Write a member's training state whole or not at all (a kill mid-write leaves the last one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_state(path: Path) -> dict[str, Any] | None:
    """A saved member state (tensors and plain values only: never unpickles code), or ``None``
    with a warning when it cannot be read (the member then starts afresh)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        log.warning("ignoring unreadable training state %s: %s", path, exc)
        return None


def _stack_nodes(
    sets: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray] | None],
    sizes: Sequence[int],
    n_out: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-op targets, mask and floor flags of a batch; zeros (masked out) for graphs without."""
    parts: list[tuple[np.ndarray, ...]] = []
    for ns, n in zip(sets, sizes, strict=True):
        parts.append(ns if ns is not None else (np.zeros((n, n_out), np.float32),) * 3)
    return tuple(torch.from_numpy(np.concatenate(col)) for col in zip(*parts, strict=True))


def feature_batches(graphs: Sequence[OpGraph], batch_size: int = 512) -> Iterable[FeatureBatch]:
    """Features of ``graphs``, ``batch_size`` graphs to a batch, built as they are consumed."""
    return (featurize(graphs[s : s + batch_size]) for s in range(0, len(graphs), batch_size))


#: Batches with fewer nodes run on one thread: their kernels are too short to gain from a second
#: (on 2 shared cores, 2 threads were slower up to ~2,600 nodes; one graph of 65 ops took 1.6 ms
#: instead of 0.9), and a thread that waits on a busy core stalls the whole forward pass.
PARALLEL_MIN_NODES = 1024


#: Arithmetic of the forward pass's message-passing body: ``float32`` (exact, the default) or
#: ``bfloat16`` (CPU autocast of its matrix products; readout and heads stay float32).
FORWARD_DTYPES: tuple[str, ...] = ("float32", "bfloat16")


def check_forward_dtype(dtype: str) -> None:
    """Raise ``ValueError`` for an unknown ``dtype``, or ``bfloat16`` on a CPU without it."""
    if dtype not in FORWARD_DTYPES:
        raise ValueError(f"dtype must be one of {FORWARD_DTYPES}, got {dtype!r}")
    if dtype == "bfloat16" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        raise ValueError(
            "dtype 'bfloat16' needs a CPU with native bfloat16 arithmetic (AVX512-BF16 or AMX); "
            "this one has none, where it would be slower than float32"
        )


def forward_log(
    model: PerfGNN | PerfEnsemble,
    batches: Iterable[FeatureBatch],
    threads: int = 1,
    dtype: str = "float32",
) -> np.ndarray:
    """Log-space outputs ``[G, n_outputs]`` of ``model`` over feature batches, without autograd.

    Runs on ``threads`` torch threads (one for batches under :data:`PARALLEL_MIN_NODES` nodes) and
    leaves torch set to ``threads``. ``dtype``: one of :data:`FORWARD_DTYPES`.
    """
    check_forward_dtype(dtype)
    model.eval()
    outs = []
    try:
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"),
        ):
            for fb in batches:
                torch.set_num_threads(threads if len(fb.x) >= PARALLEL_MIN_NODES else 1)
                outs.append(model(**to_tensors(fb)).numpy())
    finally:
        torch.set_num_threads(threads)
    return np.concatenate(outs) if outs else np.zeros((0, model.config["n_outputs"]), np.float32)


def predict_log(
    model: PerfGNN | PerfEnsemble,
    feats: Sequence[GraphFeatures],
    threads: int = 1,
    batch_size: int = 512,
    dtype: str = "float32",
) -> np.ndarray:
    """Run ``model`` over precomputed per-graph features in batches, without autograd."""
    batches = (collate(feats[s : s + batch_size]) for s in range(0, len(feats), batch_size))
    return forward_log(model, batches, threads, dtype)


def node_loss(
    per_op: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, floored: torch.Tensor
) -> torch.Tensor:
    """Mean absolute log error per op; an op flagged as under its floor ``y`` only pays for
    exceeding it."""
    err = torch.where(floored > 0, (per_op - y).clamp_min(0.0), (per_op - y).abs())
    return (err * mask).sum() / mask.sum().clamp_min(1.0)


def masked_l1(pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute log error over labelled entries (~MAPE for small errors)."""
    return ((pred - y).abs() * mask).sum() / mask.sum().clamp_min(1.0)
