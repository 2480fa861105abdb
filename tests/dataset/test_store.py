"""The dataset store on a real SQLite file: round trips, de-duplication and its errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dataset.errors import StoreError
from dataset.store import Architecture, Graph, Label, Run, Store

SPEC = {"space": "toy", "version": 1, "seed": 3, "layers": [8, 16]}


def _graph(gid: str, precision: str) -> dict:
    return {
        "id": gid,
        "precision": precision,
        "size_bytes": 1234,
        "opgraph": {"ops": [["CONV_2D", [1, 8, 8, 16]]], "edges": [[0, 1]]},
        "summary": {"macs": 9216, "ops": 1},
    }


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "ds.sqlite")
    yield s
    s.dispose()


@pytest.fixture
def run_id(store) -> str:
    return store.start_run("build", machine={"cpu_model": "x"}, tool_versions={"v": "1"}, args={})


def test_round_trip_of_every_table(store, run_id, tmp_path):
    assert store.add_architecture("a1", "toy", 3, SPEC, anchor=True)
    assert store.add_graphs("a1", [_graph("g-fp32", "fp32"), _graph("g-int8", "int8")]) is None
    store.add_label(
        graph_id="g-int8", target="ethos-u55-128", run_id=run_id, latency_ms=1.5,
        energy_mj=0.2, memory_kb=30.0, storage_kb=4.0, spread={}, extra={"cycles_total": 7},
        machine={"cpu_model": "x"}, tool_versions={"ethos-u-vela": "5.2.0"},
    )  # fmt: skip
    store.add_label(
        graph_id="g-fp32", target="ethos-u55-128", run_id=run_id,
        null_reason="Ethos-U runs int8 models only; got a fp32 model",
    )  # fmt: skip
    store.record_phase(run_id, "convert", 2, 1.25)
    store.record_phase(run_id, "convert", 1, 0.75)
    store.finish_run(run_id)
    store.dispose()

    again = Store(f"sqlite:///{tmp_path / 'ds.sqlite'}")
    with again.session() as sess:
        arch = sess.get(Architecture, "a1")
        assert (arch.space, arch.seed, arch.spec, arch.anchor) == ("toy", 3, SPEC, True)
        g = sess.get(Graph, "g-int8")
        assert g.opgraph == _graph("g", "int8")["opgraph"] and g.summary["macs"] == 9216
        labels = {lab.graph_id: lab for lab in sess.scalars(select(Label))}
        assert labels["g-int8"].latency_ms == 1.5 and labels["g-int8"].extra == {"cycles_total": 7}
        assert labels["g-fp32"].latency_ms is None
        assert labels["g-fp32"].null_reason.startswith("Ethos-U runs int8")
        run = sess.get(Run, run_id)
        assert run.phases == {"convert": {"items": 3, "seconds": 2.0}}
        assert run.finished_at is not None
    assert again.anchor_graph_ids() == {"g-fp32", "g-int8"}
    assert [tuple(g) for g in again.graphs()] == [("g-fp32", "a1", "fp32"), ("g-int8", "a1", "int8")]
    assert again.opgraph("g-int8") == _graph("g", "int8")["opgraph"]
    assert again.labelled_pairs(["ethos-u55-128"]) == {
        ("g-int8", "ethos-u55-128"), ("g-fp32", "ethos-u55-128")
    }  # fmt: skip
    again.dispose()


def test_architecture_is_stored_once_and_can_become_an_anchor(store):
    assert store.add_architecture("a1", "toy", 3, SPEC)
    assert not store.add_architecture("a1", "toy", 3, SPEC, anchor=True)
    with store.session() as sess:
        assert sess.scalar(select(Architecture.anchor)) is True
        assert len(sess.scalars(select(Architecture)).all()) == 1


def test_same_label_in_same_run_is_replaced_not_duplicated(store, run_id):
    store.add_architecture("a1", "toy", 3, SPEC)
    store.add_graphs("a1", [_graph("g1", "int8")])
    for latency in (1.0, 2.0):
        store.add_label(graph_id="g1", target="cpu-xnnpack-1t", run_id=run_id, latency_ms=latency)
    with store.session() as sess:
        assert sess.scalars(select(Label.latency_ms)).all() == [2.0]


def test_graph_shared_by_two_architectures_is_refused(store):
    store.add_architecture("a1", "toy", 1, SPEC)
    store.add_architecture("a2", "toy", 2, SPEC)
    assert store.add_graphs("a1", [_graph("g1", "int8")]) is None
    clash = store.add_graphs("a2", [_graph("g2", "fp32"), _graph("g1", "int8")])
    assert clash == "its int8 graph is the same as architecture a1's"
    assert [g.id for g in store.graphs()] == ["g1"]  # all or nothing: g2 not stored either


def test_conversion_errors_are_kept_and_skipped(store):
    store.add_architecture("a1", "toy", 1, SPEC)
    store.add_architecture("a2", "toy", 2, SPEC)
    store.set_convert_error("a2", "ConversionError: boom")
    assert [a.id for a in store.architectures_without_graphs()] == ["a1"]
    assert {a.id for a in store.architectures_without_graphs(retry_failed=True)} == {"a1", "a2"}


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.record_phase("nope", "convert", 1, 1.0), "no run 'nope'"),
        (lambda s: s.finish_run("nope"), "no run 'nope'"),
        (lambda s: s.set_convert_error("nope", "x"), "no architecture 'nope'"),
        (lambda s: s.opgraph("nope"), "no graph 'nope'"),
    ],
)
def test_unknown_ids_are_store_errors(store, call, match):
    with pytest.raises(StoreError, match=match):
        call(store)


def test_empty_location_is_refused():
    with pytest.raises(StoreError, match="empty database location"):
        Store("")


def test_url_and_path_open_the_same_file(tmp_path):
    a = Store(tmp_path / "sub" / "x.sqlite")
    a.add_architecture("a1", "toy", 1, SPEC)
    a.dispose()
    b = Store(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite'}")
    assert not b.add_architecture("a1", "toy", 1, SPEC)
    b.dispose()
