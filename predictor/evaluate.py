"""Accuracy of the GNN beside three baselines and the measurement noise floor.

Per target x metric x search space: MAPE, share within +/-10% (nn-Meter's metric), Kendall tau and
Spearman rho (what a NAS loop needs, as HELP and BRP-NAS report). ``write_report`` renders them
to ``docs/accuracy.md`` with plots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

from predictor.baselines import AnalyticBaseline, GBMBaseline, MacsRegression
from predictor.train import TrainingData, label_matrix, output_names

PREDICTORS = ("gnn", "macs", "analytic", "gbm")


def metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """MAPE (%), share within +/-10% (%), Kendall tau and Spearman rho of positive values."""
    pred = np.asarray(pred, np.float64)
    true = np.asarray(true, np.float64)
    rel = np.abs(pred - true) / true
    tau = rho = math.nan
    if len(true) >= 3 and np.ptp(true) > 0 and np.ptp(pred) > 0:
        tau = float(kendalltau(pred, true).statistic)
        rho = float(spearmanr(pred, true).statistic)
    return {
        "n": len(true),
        "mape": float(100 * rel.mean()) if len(true) else math.nan,
        "within10": float(100 * (rel <= 0.10).mean()) if len(true) else math.nan,
        "kendall_tau": tau,
        "spearman_rho": rho,
    }


def noise_floor(pairs: Sequence[tuple[float, float]]) -> dict[str, float] | None:
    """The same metrics between two independent measurement passes (``None`` without pairs)."""
    pairs = [(a, b) for a, b in pairs if a and b and a > 0 and b > 0]
    if not pairs:
        return None
    a, b = np.array(pairs).T
    return metrics(b, a)


def evaluate_split(regressor: Any, data: TrainingData) -> dict[str, dict[str, float]]:
    """GNN metrics per ``target/metric`` on ``data`` (all spaces together)."""
    y, mask = label_matrix(data.labels, regressor.targets_)
    pred = regressor.predict_log(data.graphs)
    out = {}
    for j, (t, m) in enumerate(output_names(regressor.targets_)):
        rows = mask[:, j] > 0
        if rows.any():
            out[f"{t}/{m}"] = metrics(np.exp(pred[rows, j]), np.exp(y[rows, j]))
    return out


def compare(
    regressor: Any, train: TrainingData, test: TrainingData, seed: int = 0
) -> dict[str, Any]:
    """GNN and the three baselines (fitted on ``train``) on ``test``, per column and space.

    Returns ``{"rows": [...], "predictions": {name: [G, C] values}, "truth": ..., "mask": ...}``;
    each row is ``{"target", "metric", "space", "predictor", **metrics}`` with space ``"all"`` too.
    """
    targets = regressor.targets_
    cols = output_names(targets)
    ytr, mtr = label_matrix(train.labels, targets)
    yte, mte = label_matrix(test.labels, targets)
    preds = {
        "gnn": regressor.predict_log(test.graphs),
        "macs": MacsRegression().fit(train.graphs, ytr, mtr).predict_log(test.graphs),
        "analytic": AnalyticBaseline(cols).fit(train.graphs, ytr, mtr).predict_log(test.graphs),
        "gbm": GBMBaseline(seed=seed).fit(train.graphs, ytr, mtr).predict_log(test.graphs),
    }
    spaces = np.array(test.spaces)
    rows = []
    for j, (t, m) in enumerate(cols):
        for space in ["all", *sorted(set(test.spaces))]:
            sel = (mte[:, j] > 0) & ((spaces == space) if space != "all" else True)
            if not sel.any():
                continue
            for name, p in preds.items():
                rows.append(
                    {
                        "target": t,
                        "metric": m,
                        "space": space,
                        "predictor": name,
                        **metrics(np.exp(p[sel, j]), np.exp(yte[sel, j])),
                    }
                )
    return {
        "rows": rows,
        "predictions": {k: np.exp(v) for k, v in preds.items()},
        "truth": np.exp(yte),
        "mask": mte,
        "columns": cols,
    }


def _fmt(v: float, digits: int = 1) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _plots(result: dict[str, Any], test: TrainingData, out_dir: Path, stem: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    cols = result["columns"]
    latency = [
        (j, t) for j, (t, m) in enumerate(cols) if m == "latency_ms" and result["mask"][:, j].any()
    ]
    files = []
    if latency:
        n = len(latency)
        ncols = min(5, n)
        nrows = -(-n // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
        spaces = sorted(set(test.spaces))
        colors = dict(zip(spaces, plt.cm.tab10.colors))
        for ax, (j, t) in zip(axes.flat, latency):
            sel = result["mask"][:, j] > 0
            truth = result["truth"][sel, j]
            pred = result["predictions"]["gnn"][sel, j]
            sp = np.array(test.spaces)[sel]
            for s in spaces:
                k = sp == s
                ax.scatter(truth[k], pred[k], s=10, color=colors[s], label=s)
            lo, hi = min(truth.min(), pred.min()), max(truth.max(), pred.max())
            ax.plot([lo, hi], [lo, hi], "k-", lw=0.6)
            ax.plot([lo, hi], [lo * 1.1, hi * 1.1], "k:", lw=0.5)
            ax.plot([lo, hi], [lo * 0.9, hi * 0.9], "k:", lw=0.5)
            ax.set_xscale("log")
            ax.set_yscale("log")
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_minor_formatter(NullFormatter())
            ax.tick_params(labelsize=7)
            ax.set_title(t, fontsize=9)
            ax.set_xlabel("label latency (ms)", fontsize=8)
            ax.set_ylabel("GNN (ms)", fontsize=8)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=6)
        fig.tight_layout()
        name = f"{stem}-latency.png"
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        files.append(name)
    # MAPE per target (latency), GNN beside the baselines.
    rows = [r for r in result["rows"] if r["space"] == "all" and r["metric"] == "latency_ms"]
    if rows:
        targets = sorted({r["target"] for r in rows})
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(targets)), 3.2))
        width = 0.2
        for k, name in enumerate(PREDICTORS):
            vals = [
                next(
                    (r["mape"] for r in rows if r["target"] == t and r["predictor"] == name), np.nan
                )
                for t in targets
            ]
            ax.bar(np.arange(len(targets)) + (k - 1.5) * width, vals, width, label=name)
        ax.set_xticks(np.arange(len(targets)), targets, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("latency MAPE (%)")
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.5)  # exact (0%) analytic answers would stretch the axis to 1e-6
        ax.legend(fontsize=7)
        fig.tight_layout()
        name = f"{stem}-mape.png"
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        files.append(name)
    return files


def write_report(
    result: dict[str, Any],
    test: TrainingData,
    path: str | Path,
    meta: dict[str, Any],
    noise: dict[str, dict[str, float] | None],
    leave_out: dict[str, dict[str, Any]] | None = None,
    leave_out_how: str = "",
) -> Path:
    """Write the accuracy report (markdown + PNG plots beside it).

    ``leave_out_how`` says how the leave-one-space-out models were trained (epochs, members).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = _plots(result, test, path.parent, path.stem)
    lines = [
        "# Predictor accuracy",
        "",
        (
            "Written by `edgeperf evaluate`; do not edit by hand. The GNN (PerfSAGE-style, "
            "`predictor/model.py`) against three baselines fitted on the same training split "
            "(`predictor/baselines.py`): **macs** = log-log regression on MACs, **analytic** = the "
            "target's `hwmodels` prior (the `npu-*` preset; for an Ethos-U target the roofline of its "
            "Vela system) with a fitted log-space scale, **gbm** = gradient-"
            "boosted trees on whole-graph summary features. Test graphs are architectures never seen in "
            "training (fp32/int8 twins stay together)."
        ),
        "",
        (
            "The `npu-*` targets' labels *are* the `hwmodels` estimate, so `Predictor` serves them "
            "with `hwmodels` directly (`source: hwmodels`, error 0 by construction); their GNN rows "
            'below measure the multi-task heads used only with `analytic="gnn"` (the NAS fast path).'
        ),
        "",
        "## Checkpoint and data",
        "",
    ]
    for key in (
        "dataset_hash",
        "dataset_graphs",
        "dataset_architectures",
        "split",
        "command",
        "seed",
        "machine",
        "model",
        "best_epoch",
        "member_best_epochs",
        "note",
    ):
        if key in meta and meta[key] not in (None, ""):
            lines.append(f"- **{key}**: `{meta[key]}`")
    if int(meta.get("dataset_graphs") or 0) < 1000:
        lines += [
            "",
            (
                f"**Small data.** This checkpoint was trained on {meta.get('dataset_graphs')} graphs, a "
                "development dataset, not the full collection; test sets of a few dozen graphs make every "
                "figure below coarse (one graph moves a per-space MAPE by several points). The figures say "
                "what the machinery reaches now, not what the GNN reaches with the full dataset."
            ),
        ]
    lines += ["", "## Noise floor", ""]
    for t, nf in noise.items():
        if nf:
            lines.append(
                f"- `{t}` latency, two independent measurement passes over {nf['n']} graphs: MAPE "
                f"{_fmt(nf['mape'], 2)}%, within ±10% {_fmt(nf['within10'])}%, Kendall τ {_fmt(nf['kendall_tau'], 3)}"
            )
        else:
            lines.append(f"- `{t}`: no repeated measurements in the data; noise floor unknown")
    lines += ["", "## Plots", ""]
    lines += [f"![{img}]({img})" for img in images]
    lines += ["", "## All spaces together (test split)", ""]
    lines += _table([r for r in result["rows"] if r["space"] == "all"], with_space=False)
    lines += ["", "## Per search space (test split)", ""]
    lines += _table([r for r in result["rows"] if r["space"] != "all"], with_space=True)
    if leave_out:
        lines += [
            "",
            "## Leave one search space out",
            "",
            f"Trained without the space{f' ({leave_out_how})' if leave_out_how else ''}, tested on all of its graphs (latency only).",
            "",
        ]
        for space, res in leave_out.items():
            lines += [f"### held out: `{space}`", ""]
            lines += _table(
                [r for r in res["rows"] if r["space"] == "all" and r["metric"] == "latency_ms"],
                with_space=False,
            )
            lines.append("")
    else:
        lines += [
            "",
            "## Leave one search space out",
            "",
            (
                "Not run for this report: `edgeperf evaluate --leave-space-out` trains one model per "
                "held-out space."
            ),
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _table(rows: list[dict[str, Any]], with_space: bool) -> list[str]:
    if not rows:
        return ["(no labelled test graphs)"]
    head = (
        "| target | metric |"
        + (" space |" if with_space else "")
        + " n | "
        + " | ".join(f"MAPE % {p}" for p in PREDICTORS)
        + " | ±10% gnn | ±10% best baseline | τ gnn | τ best baseline | ρ gnn |"
    )
    sep = "|" + "---|" * (head.count("|") - 1)
    out = [head, sep]
    keys = sorted({(r["target"], r["metric"], r["space"]) for r in rows})
    for t, m, s in keys:
        group = {
            r["predictor"]: r for r in rows if (r["target"], r["metric"], r["space"]) == (t, m, s)
        }
        gnn = group["gnn"]
        base = [group[p] for p in PREDICTORS[1:] if p in group]
        best_w = max((b["within10"] for b in base), default=math.nan)
        taus = [b["kendall_tau"] for b in base if not math.isnan(b["kendall_tau"])]
        best_t = max(taus) if taus else math.nan
        mapes = " | ".join(_fmt(group[p]["mape"]) if p in group else "–" for p in PREDICTORS)
        out.append(
            f"| `{t}` | {m} |"
            + (f" {s} |" if with_space else "")
            + f" {gnn['n']} | {mapes} | {_fmt(gnn['within10'])} | {_fmt(best_w)} | "
            f"{_fmt(gnn['kendall_tau'], 3)} | {_fmt(best_t, 3)} | {_fmt(gnn['spearman_rho'], 3)} |"
        )
    return out
