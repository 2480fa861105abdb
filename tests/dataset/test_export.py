"""Export to one xz JSON-lines file or a directory of parts and import back, on real SQLite stores."""

from __future__ import annotations

import json
import lzma

import pytest
from sqlalchemy import select

from dataset.errors import StoreError
from dataset.export import (
    DEFAULT_EXPORT_PATH,
    export_dataset,
    export_part,
    export_parts,
    import_dataset,
)
from dataset.stats import dataset_stats
from dataset.store import TABLES, Label, Store


def _fill(store: Store, n: int) -> None:
    build = store.start_run("build", machine={"cpu_model": "A"}, tool_versions={}, args={"n": n})
    noise = store.start_run("noise", machine={"cpu_model": "A"}, tool_versions={}, args={})
    for i in range(n):
        store.add_architecture(f"a{i}", ["toy", "kws"][i % 2], i, {"seed": i, "w": [i, 2 * i]})
        store.add_graphs(
            f"a{i}",
            [
                {"id": f"g{i}{p}", "precision": p, "size_bytes": 100 + i,
                 "opgraph": {"ops": list(range(i))}, "summary": {"macs": i * 10}}
                for p in ("fp32", "int8")
            ],
        )  # fmt: skip
        for p in ("fp32", "int8"):
            store.add_label(
                graph_id=f"g{i}{p}", target="cpu-xnnpack-1t", run_id=build,
                latency_ms=1.0 + i, memory_kb=10.0 * i, spread={"n": 20, "p10_ms": 0.9 + i},
                extra={"null_fields": {"energy_mj": "not measurable here"}},
            )  # fmt: skip
        store.add_label(
            graph_id=f"g{i}fp32", target="ethos-u55-128", run_id=build,
            null_reason="Ethos-U runs int8 models only; got a fp32 model",
        )  # fmt: skip
        store.add_label(
            graph_id=f"g{i}int8", target="cpu-xnnpack-1t", run_id=noise, latency_ms=1.1 + i
        )
    store.record_phase(build, "measure", 2 * n, 3.5)
    store.finish_run(build)


def _rows(store: Store) -> dict[str, list[dict]]:
    out = {}
    with store.session() as sess:
        for name, model in TABLES.items():
            rows = []
            for obj in sess.scalars(select(model)):
                row = {c.key: getattr(obj, c.key) for c in model.__table__.columns}
                row.pop("id" if model is Label else "__none__", None)
                rows.append(row)
            out[name] = sorted(rows, key=lambda r: json.dumps(r, default=str, sort_keys=True))
    return out


def test_export_import_round_trip(tmp_path):
    src = Store(tmp_path / "src.sqlite")
    _fill(src, 6)
    path = tmp_path / "out" / "ds.jsonl.xz"
    counts = export_dataset(src, path)
    assert counts == {"runs": 2, "architectures": 6, "graphs": 12, "labels": 24}

    dst = Store(tmp_path / "dst.sqlite")
    assert import_dataset(dst, path) == counts
    assert _rows(dst) == _rows(src)
    assert dataset_stats(dst) == dataset_stats(src)
    # Importing again adds nothing.
    assert import_dataset(dst, path) == dict.fromkeys(counts, 0)
    src.dispose()
    dst.dispose()


def test_import_adds_only_what_is_missing(tmp_path):
    small, big = Store(tmp_path / "small.sqlite"), Store(tmp_path / "big.sqlite")
    _fill(small, 2)
    export_dataset(small, tmp_path / "small.jsonl.xz")
    import_dataset(big, tmp_path / "small.jsonl.xz")
    _fill(big, 4)  # new runs; a0/a1 already there
    export_dataset(big, tmp_path / "big.jsonl.xz")
    added = import_dataset(small, tmp_path / "big.jsonl.xz")
    assert added["architectures"] == 2 and added["graphs"] == 4 and added["runs"] == 2
    assert dataset_stats(small) == dataset_stats(big)
    small.dispose()
    big.dispose()


def _write(path, lines):
    with lzma.open(path, "wt") as fh:
        for line in lines:
            fh.write((line if isinstance(line, str) else json.dumps(line)) + "\n")


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        ([{"format": "other", "version": 1}], "expected format 'edgeperf-dataset'"),
        ([{"format": "edgeperf-dataset", "version": 99}], "format version 99; expected 1"),
        (
            [{"format": "edgeperf-dataset", "version": 1}, {"table": "secrets", "row": {}}],
            "unknown table 'secrets'",
        ),
        (
            [{"format": "edgeperf-dataset", "version": 1},
             {"table": "runs", "row": {"id": "r", "kind": "build", "colour": "red"}}],
            r"unknown columns \['colour'\]",
        ),
    ],
)
def test_bad_exports_are_refused(tmp_path, lines, match):
    path = tmp_path / "bad.jsonl.xz"
    _write(path, lines)
    store = Store(tmp_path / "x.sqlite")
    with pytest.raises(StoreError, match=match):
        import_dataset(store, path)
    store.dispose()


def test_missing_or_non_xz_file_is_refused(tmp_path):
    store = Store(tmp_path / "x.sqlite")
    with pytest.raises(StoreError, match="no dataset export at"):
        import_dataset(store, tmp_path / "absent.jsonl.xz")
    plain = tmp_path / "plain.jsonl.xz"
    plain.write_text('{"format": "edgeperf-dataset"}\n')
    with pytest.raises(StoreError, match="is not an xz JSON-lines dataset export"):
        import_dataset(store, plain)
    with pytest.raises(StoreError, match=r"no part-\*\.jsonl\.xz files in"):
        import_dataset(store, tmp_path)
    store.dispose()


def test_parts_hold_only_the_growth_and_import_as_one(tmp_path):
    src = Store(tmp_path / "src.sqlite")
    directory = tmp_path / "export"
    _fill(src, 2)
    first, counts = export_part(src, directory)
    assert first == directory / "part-0000.jsonl.xz"
    assert counts == {"runs": 2, "architectures": 2, "graphs": 4, "labels": 8}
    assert export_part(src, directory) == (None, dict.fromkeys(counts, 0))

    # Two new runs add a0..a3's labels again and a2, a3 themselves; a0, a1 are not written twice.
    _fill(src, 4)
    second, grown = export_part(src, directory)
    assert second == directory / "part-0001.jsonl.xz"
    assert grown == {"runs": 2, "architectures": 2, "graphs": 4, "labels": 16}
    assert export_parts(directory) == [first, second]

    dst = Store(tmp_path / "dst.sqlite")
    assert import_dataset(dst, directory) == {"runs": 4, "architectures": 4, "graphs": 8, "labels": 24}
    assert _rows(dst) == _rows(src)
    assert import_dataset(dst, directory) == dict.fromkeys(counts, 0)
    src.dispose()
    dst.dispose()


def test_a_changed_row_goes_into_the_next_part_and_supersedes_the_old(tmp_path):
    src = Store(tmp_path / "src.sqlite")
    directory = tmp_path / "export"
    _fill(src, 2)
    export_part(src, directory)
    with src.session() as sess:
        run_id = sess.scalars(select(TABLES["runs"].id).where(TABLES["runs"].kind == "build")).one()
    src.add_label(graph_id="g0int8", target="cpu-xnnpack-1t", run_id=run_id, latency_ms=7.5)
    src.record_phase(run_id, "measure", 1, 0.5)
    _, counts = export_part(src, directory)
    assert counts == {"runs": 1, "architectures": 0, "graphs": 0, "labels": 1}

    dst = Store(tmp_path / "dst.sqlite")
    import_dataset(dst, directory)
    assert _rows(dst) == _rows(src)
    with dst.session() as sess:
        rows = sess.scalars(
            select(Label).where(Label.graph_id == "g0int8", Label.run_id == run_id)
        ).all()
        assert [r.latency_ms for r in rows] == [7.5]
    src.dispose()
    dst.dispose()


def test_a_lone_later_part_or_a_cut_one_is_refused_and_nothing_is_added(tmp_path):
    src = Store(tmp_path / "src.sqlite")
    directory = tmp_path / "export"
    _fill(src, 1)
    export_part(src, directory)
    _fill(src, 3)
    second, _ = export_part(src, directory)
    dst = Store(tmp_path / "dst.sqlite")
    with pytest.raises(StoreError, match="refer to rows neither it nor the store has"):
        import_dataset(dst, second)
    data = second.read_bytes()
    second.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="part-0001.jsonl.xz is cut short or damaged"):
        import_dataset(dst, directory)
    assert _rows(dst) == {name: [] for name in TABLES}
    src.dispose()
    dst.dispose()


def test_the_committed_export_reads_and_fits_its_budget():
    """The issue's cap: the committed dataset stays within 50 MB, however many parts it grows by."""
    parts = export_parts(DEFAULT_EXPORT_PATH)
    assert parts and parts[0].name == "part-0000.jsonl.xz"
    assert sum(p.stat().st_size for p in parts) <= 50e6
    for part in parts:
        with lzma.open(part, "rt", encoding="utf-8") as fh:
            header = json.loads(fh.readline())
        assert header["format"] == "edgeperf-dataset" and header["version"] == 1
        assert sum(header["counts"].values()) > 0, part.name
