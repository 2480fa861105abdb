"""The build pipeline end to end: real spaces, TF conversion, Vela, LiteRT and SQLite.

A build is killed (SIGKILL while converting, SIGTERM while measuring) and rerun; at the end nothing
is lost and nothing is duplicated. Kept to one small search space so it runs in about a minute.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dataset.build import BuildConfig, Builder, anchor_plan, resolve_phases, resolve_spaces
from dataset.errors import BuildError
from dataset.executors import LocalExecutor
from dataset.stats import dataset_stats
from dataset.store import Architecture, Graph, Label, Run, Store
from dataset.targets import CPU_TARGET, LabelKind, all_targets

ROOT = Path(__file__).resolve().parents[2]
SPACE = "keyword_spotting"
N = 2
ANCHORS = 1


def _start(db: Path, work: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "api.cli", "dataset", "build", "--spaces", SPACE, "--n", str(N),
        "--workers", "1", "--anchors", str(ANCHORS), "--db", str(db), "--work-dir", str(work),
        "--budget-s", "0.02", "--no-progress", "--noise-pass", "--noise-n", "2",
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def _count(db: Path, query) -> int:
    store = Store(db)
    try:
        with store.session() as sess:
            return sess.scalar(query) or 0
    finally:
        store.dispose()


def _wait_for(proc: subprocess.Popen, db: Path, query, at_least: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"build ended (exit {proc.returncode}) before it could be interrupted: "
                        f"{proc.stderr.read().decode()[-2000:]}")  # fmt: skip
        if db.exists() and _count(db, query) >= at_least:
            return
        time.sleep(0.2)
    proc.kill()
    pytest.fail("build made no progress in time")


def test_killed_build_resumes_without_loss_or_duplicates(tmp_path):
    db, work = tmp_path / "ds.sqlite", tmp_path / "work"

    # 1. SIGKILL the whole process group (a machine going down) while it converts.
    proc = _start(db, work)
    _wait_for(proc, db, select(func.count()).select_from(Graph), 1, 180)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL

    # 2. SIGTERM the build while it measures: it stops cleanly between items.
    proc = _start(db, work)
    measured = select(func.count()).select_from(Label).where(Label.target == CPU_TARGET)
    _wait_for(proc, db, measured, 1, 240)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) != 0

    # 3. Run to the end.
    proc = _start(db, work)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]

    store = Store(db)
    with store.session() as sess:
        archs = sess.scalars(select(Architecture)).all()
        graphs = sess.scalars(select(Graph)).all()
        labels = sess.scalars(select(Label)).all()
        runs = sess.scalars(select(Run).order_by(Run.started_at)).all()
    # Nothing lost: every planned architecture, two graphs each, and every target labelled.
    assert len(archs) == N + ANCHORS
    assert sum(a.anchor for a in archs) == ANCHORS
    assert all(a.convert_error is None for a in archs)
    assert Counter(g.arch_id for g in graphs) == {a.id: 2 for a in archs}
    targets = set(all_targets())
    per_graph = {g.id: {lab.target for lab in labels if lab.graph_id == g.id} for g in graphs}
    assert all(have == targets for have in per_graph.values())
    for g in graphs:
        assert (work / "tflite" / f"{g.id}.tflite").is_file()

    # Nothing duplicated: one label per graph and target, except anchors (one per measuring run).
    anchors = {g.id for g in graphs if any(a.anchor and a.id == g.arch_id for a in archs)}
    counts = Counter((lab.graph_id, lab.target, lab.run_id) for lab in labels)
    assert max(counts.values()) == 1
    build_runs = {r.id for r in runs if r.kind == "build"}
    pairs = Counter((lab.graph_id, lab.target) for lab in labels if lab.run_id in build_runs)
    dup = {k: v for k, v in pairs.items() if v > 1}
    assert dup and all(g in anchors and t == CPU_TARGET for g, t in dup)

    # The labels are what each target's row says they should be.
    by = {(lab.graph_id, lab.target): lab for lab in labels if lab.run_id in build_runs}
    precision = {g.id: g.precision for g in graphs}
    for (gid, target), lab in by.items():
        kind = all_targets()[target].kind
        if kind is LabelKind.MEASURED:
            assert lab.latency_ms > 0 and lab.memory_kb > 0 and lab.energy_mj is None
            assert lab.spread["p10_ms"] <= lab.latency_ms <= lab.spread["p90_ms"]
            assert "not measurable here" in lab.extra["null_fields"]["energy_mj"]
            assert lab.machine["cpu_model"] and lab.tool_versions["ai-edge-litert"]
        elif kind is LabelKind.VELA and precision[gid] == "fp32":
            assert lab.latency_ms is None and "int8 models only" in lab.null_reason
        else:
            assert (lab.latency_ms is not None) != (lab.null_reason is not None)
    assert any(by[(g.id, "ethos-u55-128")].latency_ms for g in graphs if g.precision == "int8")

    # Each run is recorded; the interrupted ones never finished; each invocation left a log.
    assert [(r.kind, r.finished_at is not None) for r in runs] == [
        ("build", False), ("build", False), ("build", True), ("noise", True)
    ]  # fmt: skip
    assert runs[2].phases["measure"]["items"] >= ANCHORS * 2
    # The noise pass measured two graphs again, in its own run.
    stats = dataset_stats(store)
    assert stats["noise_pairs"] == 2 and stats["noise_floor_mape"] >= 0
    assert sum(lab.run_id == runs[3].id for lab in labels) == 2
    logs = list((work / "logs").glob("build-*.log"))
    assert len(logs) == 3
    assert "phase noise" in (work / "logs" / f"build-{runs[2].id}.log").read_text()
    store.dispose()


def test_anchor_plan_is_fixed_and_spread_over_spaces():
    from dataset.spaces import SPACES

    plan = anchor_plan(10)
    assert plan == anchor_plan(10) and len(set(plan)) == 10
    assert {space for space, _ in plan} == set(SPACES)


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (["all"], ("sample", "convert", "label-static", "measure")),
        (["measure", "sample"], ("sample", "measure")),
        (["all", "noise"], ("sample", "convert", "label-static", "measure", "noise")),
        (["noise"], ("noise",)),
    ],
)
def test_phases_run_in_pipeline_order(phases, expected):
    assert resolve_phases(phases) == expected


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: resolve_phases(["bake"]), r"unknown phase\(s\) \['bake'\]"),
        (lambda: resolve_spaces(["cooking"]), r"unknown search space\(s\) \['cooking'\]"),
        (lambda: Builder(BuildConfig(n=-1)), "n must be >= 0"),
        (lambda: Builder(BuildConfig(workers=0)), "workers must be >= 1"),
        (lambda: LocalExecutor(0), "workers must be >= 1"),
    ],
)
def test_bad_build_requests_are_refused(make, match):
    with pytest.raises(BuildError, match=match):
        make()


def test_measure_rebuilds_missing_anchor_files_and_remeasures_them(tmp_path):
    from dataset.measure import MeasureSettings

    db, work = tmp_path / "ds.sqlite", tmp_path / "work"

    def run(*phases: str) -> None:
        Builder(BuildConfig(
            spaces=(SPACE,), n=1, workers=1, db_url=f"sqlite:///{db}", work_dir=work,
            phases=phases, measure=MeasureSettings(budget_s=0.02), anchors=ANCHORS,
            progress=False,
        )).run()  # fmt: skip

    run("sample", "convert", "measure")
    store = Store(db)
    anchors = store.anchor_graph_ids()
    assert len(anchors) == 2 * ANCHORS
    # A store imported from an export into a new work directory has no .tflite files at all.
    for path in (work / "tflite").glob("*.tflite"):
        path.unlink()
    run("measure")
    for gid in anchors:  # rebuilt from the spec, byte for byte on this machine
        assert (work / "tflite" / f"{gid}.tflite").is_file()
    with store.session() as sess:
        runs = sess.scalars(select(Run.id).order_by(Run.started_at)).all()
        measured = sess.execute(
            select(Label.graph_id, Label.run_id).where(Label.target == CPU_TARGET)
        ).all()
    assert {g for g, r in measured if r == runs[-1]} == anchors
    store.dispose()
