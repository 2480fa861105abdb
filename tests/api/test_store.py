"""The service store on SQLite and on a real PostgreSQL server (EDGEPERF_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support.toy_graphs import toy_graph

from api import db

POSTGRES_URL = os.environ.get("EDGEPERF_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty store: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    if not POSTGRES_URL:
        pytest.skip(
            "EDGEPERF_TEST_POSTGRES_URL is unset: no PostgreSQL server to test against (.ci/run starts one)"
        )
    name = f"edgeperf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _model(seed: int) -> dict:
    g = toy_graph([3, 8, 12 + seed], 16, "int8", seed=seed)
    return {
        "sha256": f"{seed:064x}",
        "kind": "graph",
        "filename": f"m{seed}",
        "summary": g.summary.to_dict(),
        "graph": g.to_dict(),
    }


def _entry(target: str, latency_ms: float) -> dict:
    return {
        "target": target,
        "latency_ms": latency_ms,
        "energy_mj": None,
        "memory_kb": 1.0,
        "storage_kb": None,
        "source": "gnn",
        "note": None,
    }


def test_models_and_predictions_round_trip(store_url):
    engine = db.make_engine(store_url)
    with engine.begin() as conn:
        db.store_models(conn, [_model(1), _model(2)])
        db.store_predictions(
            conn, "ck1", [(f"{1:064x}", _entry("a", 1.5)), (f"{1:064x}", _entry("b", 2.5))]
        )
    with engine.connect() as conn:
        row = db.get_model(conn, f"{1:064x}")
        cached = db.cached_outputs(conn, "ck1", [f"{1:064x}", f"{2:064x}"], ["a", "b"])
        other = db.cached_outputs(conn, "ck2", [f"{1:064x}"], ["a"])
    assert row["graph"] == _model(1)["graph"]
    assert row["summary"]["precision"] == "int8"
    assert cached == {(f"{1:064x}", "a"): _entry("a", 1.5), (f"{1:064x}", "b"): _entry("b", 2.5)}
    assert other == {}
    engine.dispose()


def test_writes_are_idempotent(store_url):
    """A second worker storing the same model or prediction is a no-op, not an error."""
    engine = db.make_engine(store_url)
    for _ in range(2):
        with engine.begin() as conn:
            db.store_models(conn, [_model(3)])
            db.store_predictions(conn, "ck1", [(f"{3:064x}", _entry("a", 1.0))])
    with engine.begin() as conn:
        db.store_predictions(conn, "ck1", [(f"{3:064x}", _entry("a", 9.0))])  # first answer stays
    with engine.connect() as conn:
        total, items = db.list_predictions(conn)
    assert total == 1
    assert items[0]["output"]["latency_ms"] == 1.0
    engine.dispose()


def test_history_filters_and_pages(store_url):
    engine = db.make_engine(store_url)
    with engine.begin() as conn:
        db.store_models(conn, [_model(i) for i in range(4)])
        for i in range(4):
            db.store_predictions(
                conn,
                "ck1",
                [(f"{i:064x}", _entry("a", i + 1.0)), (f"{i:064x}", _entry("b", i + 2.0))],
            )
    with engine.connect() as conn:
        total, page1 = db.list_predictions(conn, limit=3)
        _, page2 = db.list_predictions(conn, limit=3, offset=3)
        n_a, only_a = db.list_predictions(conn, target="a")
        n_m, one_model = db.list_predictions(conn, model=f"{2:064x}")
        stamp = page1[0]["created_at"]
        n_future, _ = db.list_predictions(conn, since=db.now() + timedelta(hours=1))
        n_past, _ = db.list_predictions(conn, until=db.now() + timedelta(hours=1))
        n_ck, _ = db.list_predictions(conn, checkpoint="other")
    assert total == 8
    ids = [r["id"] for r in page1 + page2]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert n_a == 4 and {r["target"] for r in only_a} == {"a"}
    assert n_m == 2 and {r["filename"] for r in one_model} == {"m2"}
    assert stamp is not None
    assert (n_future, n_past, n_ck) == (0, 8, 0)
    engine.dispose()


def test_measurements_and_calibrations(store_url):
    engine = db.make_engine(store_url)
    with engine.begin() as conn:
        db.store_models(conn, [_model(5)])
        ids = db.add_measurements(conn, "cpu", [(f"{5:064x}", 3.0), (f"{5:064x}", 3.2)])
        assert db.calibrations_version(conn) == 0
        db.add_calibration(conn, "dev", {"name": "dev", "n": 10})
    with engine.connect() as conn:
        rows = db.list_measurements(conn, target="cpu")
        counts = db.measurement_counts(conn)
        version, cals = db.load_calibrations(conn)
        assert db.calibrations_version(conn) == version > 0
    assert [r["id"] for r in rows] == ids
    assert [r["latency_ms"] for r in rows] == [3.0, 3.2]
    assert cals == [{"name": "dev", "n": 10}]
    assert counts == {"cpu": 2}
    engine.dispose()


def test_server_on_this_store(store_url, start_server, mobilenet_v2_int8):
    """The live service (two workers on PostgreSQL) stores and reuses predictions in this store."""
    workers = ["--workers", "2"] if store_url.startswith("postgresql") else []
    server = start_server(args=workers, EDGEPERF_DATABASE_URL=store_url)
    data = mobilenet_v2_int8.read_bytes()
    with server.client() as c:
        answers = [
            c.post(
                "/predict", files={"file": ("m.tflite", data)}, params={"targets": "npu-int8"}
            ).json()
            for _ in range(4)
        ]
        history = c.get("/predictions").json()
    assert [a["cached"] for a in answers] == [False, True, True, True]
    assert history["total"] == 1
    assert history["items"][0]["model_sha256"] == answers[0]["model"]["sha256"]
