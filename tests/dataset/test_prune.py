"""Pruning the .tflite cache: only files no later phase needs are deleted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from dataset.build import prune_cache
from dataset.store import Store
from dataset.targets import CPU_TARGET, all_targets

ROOT = Path(__file__).resolve().parents[2]
HOUR_S = 3600.0


def _store_with_cache(tmp_path: Path) -> tuple[str, Path, dict[str, bytes]]:
    """Graphs: g0 anchor, g1-g3 fully labelled, g4 lacking its CPU label, g5 lacking Vela."""
    db, work = tmp_path / "ds.sqlite", tmp_path / "work"
    (work / "tflite").mkdir(parents=True)
    s = Store(db)
    run = s.start_run("build", machine={}, tool_versions={}, args={})
    blobs = {}
    for i in range(6):
        gid = f"g{i}"
        s.add_architecture(f"a{i}", "toy", i, {"i": i}, anchor=i == 0)
        s.add_graphs(f"a{i}", [{"id": gid, "precision": "int8", "size_bytes": 3,
                                "opgraph": {}, "summary": {}}])  # fmt: skip
        for target in all_targets():
            if (i == 4 and target == CPU_TARGET) or (i == 5 and target == "ethos-u85-512"):
                continue
            s.add_label(graph_id=gid, target=target, run_id=run, latency_ms=1.0 + i)
        blobs[gid] = f"model {i}".encode()
        path = work / "tflite" / f"{gid}.tflite"
        path.write_bytes(blobs[gid])
        os.utime(path, (time.time() - HOUR_S, time.time() - HOUR_S))  # converted long ago
    s.finish_run(run)
    s.dispose()
    return f"sqlite:///{db}", work, blobs


def _left(work: Path) -> set[str]:
    return {p.stem for p in (work / "tflite").glob("*.tflite")}


def test_prune_keeps_anchors_unlabelled_and_noise_candidates(tmp_path):
    url, work, blobs = _store_with_cache(tmp_path)
    # Room for one noise pair: its pick is the lowest-id measured graph, g0 (an anchor anyway).
    dry = prune_cache(url, work, noise_n=1, dry_run=True)
    assert dry["removed"] == 3 and _left(work) == set(blobs)
    counts = prune_cache(url, work, noise_n=1)
    assert _left(work) == {"g0", "g4", "g5"}
    assert counts == {"removed": 3, "kept": 3, "freed_bytes": sum(len(blobs[g]) for g in
                                                                    ("g1", "g2", "g3"))}


def test_prune_keeps_files_a_pending_noise_pass_needs(tmp_path):
    url, work, _ = _store_with_cache(tmp_path)
    prune_cache(url, work, noise_n=3)
    # Measured graphs g0..g3 and g5 are noise candidates; the first three by id are kept.
    assert _left(work) == {"g0", "g1", "g2", "g4", "g5"}


def test_prune_keeps_young_files_a_conversion_beside_it_may_not_have_stored_yet(tmp_path):
    url, work, _ = _store_with_cache(tmp_path)
    (work / "tflite" / "fresh.tflite").write_bytes(b"converted, graph not stored yet")
    orphan = work / "tflite" / "orphan.tflite"
    orphan.write_bytes(b"a graph that was never stored")
    os.utime(orphan, (time.time() - HOUR_S, time.time() - HOUR_S))
    prune_cache(url, work, noise_n=0)
    assert _left(work) == {"g0", "g4", "g5", "fresh"}
    prune_cache(url, work, noise_n=0, min_age_s=0)
    assert _left(work) == {"g0", "g4", "g5"}


def test_prune_command(tmp_path):
    url, work, _ = _store_with_cache(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "dataset", "prune", "--db", url, "--work-dir",
         str(work), "--noise-n", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["removed"] == 3
    assert _left(work) == {"g0", "g4", "g5"}
