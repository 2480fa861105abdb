"""The service's store: models seen, every prediction answered, measurements, calibrated targets.

SQLAlchemy Core over SQLite (embedded default: WAL journal, ``synchronous=FULL`` so a commit
survives a kill) or PostgreSQL (several uvicorn workers). One prediction row per
(model, checkpoint, target): asking again is answered from the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

metadata = MetaData()
_SCHEMA_LOCK_KEY = 0x65646765  # "edge": the advisory lock held while creating tables
_Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

models = Table(
    "models",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # "tflite" upload or "graph" (OpGraph JSON)
    Column("filename", String(255)),
    Column("summary", JSON, nullable=False),
    Column("graph", JSON, nullable=False),  # OpGraph.to_dict(): enough to calibrate from later
    Column("created_at", DateTime(timezone=True), nullable=False),
)

predictions = Table(
    "predictions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("model_sha256", String(64), nullable=False, index=True),
    Column("checkpoint", String(64), nullable=False),
    Column("target", String(64), nullable=False, index=True),
    Column("output", JSON, nullable=False),  # one Predictor.predict entry
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    UniqueConstraint("model_sha256", "checkpoint", "target", name="uq_prediction"),
)

measurements = Table(
    "measurements",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("target", String(64), nullable=False, index=True),
    Column("model_sha256", String(64), nullable=False, index=True),
    Column("latency_ms", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

calibrations = Table(
    "calibrations",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("calibration", JSON, nullable=False),  # predictor.calibrate.Calibration.to_dict()
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the tables created; SQLite gets WAL and full fsync."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
    create_tables(engine)
    return engine


def create_tables(engine: Engine) -> None:
    """Create missing tables; safe when several workers start at once."""
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":  # one creator at a time, across processes
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY}
                    )
                metadata.create_all(conn, checkfirst=True)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt == 4:  # SQLite: another process created them between check and create
                raise
            time.sleep(0.1 * (attempt + 1))


def _insert_ignore(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """Insert rows, skipping those whose unique key is already stored (a racing worker wrote it)."""
    if not rows:
        return
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise ValueError(f"unsupported database {name!r}; expected sqlite or postgresql")
    conn.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=keys), rows)


def store_models(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Rows with sha256, kind, filename, summary, graph."""
    stamp = now()
    _insert_ignore(conn, models, [{**r, "created_at": stamp} for r in rows], ["sha256"])


def store_predictions(
    conn: Connection, checkpoint: str, rows: list[tuple[str, dict[str, Any]]]
) -> None:
    """(model sha256, predict entry) rows for one checkpoint."""
    stamp = now()
    _insert_ignore(
        conn,
        predictions,
        [
            {
                "model_sha256": sha,
                "checkpoint": checkpoint,
                "target": out["target"],
                "output": out,
                "created_at": stamp,
            }
            for sha, out in rows
        ],
        ["model_sha256", "checkpoint", "target"],
    )


def cached_outputs(
    conn: Connection, checkpoint: str, shas: Iterable[str], targets: Sequence[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored entries by (sha256, target) for these models, targets and checkpoint."""
    shas = list(set(shas))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(shas), 500):  # keep IN lists within every backend's limits
        q = select(predictions.c.model_sha256, predictions.c.target, predictions.c.output).where(
            predictions.c.checkpoint == checkpoint,
            predictions.c.model_sha256.in_(shas[start : start + 500]),
            predictions.c.target.in_(list(targets)),
        )
        for sha, target, output in conn.execute(q):
            out[(sha, target)] = output
    return out


def get_model(conn: Connection, sha256: str) -> dict[str, Any] | None:
    row = conn.execute(select(models).where(models.c.sha256 == sha256)).mappings().first()
    return dict(row) if row else None


def known_models(conn: Connection, shas: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Summaries of the stored models among ``shas``."""
    q = select(models.c.sha256, models.c.summary).where(models.c.sha256.in_(list(set(shas))))
    return {sha: summary for sha, summary in conn.execute(q)}


def list_predictions(
    conn: Connection,
    *,
    target: str | None = None,
    model: str | None = None,
    checkpoint: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """(total matching, one page newest first) of stored predictions."""
    conds = []
    if target is not None:
        conds.append(predictions.c.target == target)
    if model is not None:
        conds.append(predictions.c.model_sha256 == model)
    if checkpoint is not None:
        conds.append(predictions.c.checkpoint == checkpoint)
    if since is not None:
        conds.append(predictions.c.created_at >= since)
    if until is not None:
        conds.append(predictions.c.created_at < until)
    total = conn.execute(select(func.count()).select_from(predictions).where(*conds)).scalar_one()
    q = (
        select(predictions, models.c.filename, models.c.summary)
        .join(models, models.c.sha256 == predictions.c.model_sha256, isouter=True)
        .where(*conds)
        .order_by(predictions.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return total, [dict(r) for r in conn.execute(q).mappings()]


def model_predictions(conn: Connection, sha256: str) -> list[dict[str, Any]]:
    q = select(predictions).where(predictions.c.model_sha256 == sha256).order_by(predictions.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def add_measurements(conn: Connection, target: str, rows: Sequence[tuple[str, float]]) -> list[int]:
    stamp = now()
    ids = []
    for sha, latency_ms in rows:
        result = conn.execute(
            insert(measurements).values(
                target=target, model_sha256=sha, latency_ms=latency_ms, created_at=stamp
            )
        )
        ids.append(int(result.inserted_primary_key[0]))
    return ids


def list_measurements(
    conn: Connection, target: str | None = None, model: str | None = None
) -> list[dict[str, Any]]:
    q = select(measurements).order_by(measurements.c.id)
    if target is not None:
        q = q.where(measurements.c.target == target)
    if model is not None:
        q = q.where(measurements.c.model_sha256 == model)
    return [dict(r) for r in conn.execute(q).mappings()]


def measurement_counts(conn: Connection) -> dict[str, int]:
    """Number of measurements per target."""
    q = select(measurements.c.target, func.count()).group_by(measurements.c.target)
    return {target: n for target, n in conn.execute(q)}


def add_calibration(conn: Connection, name: str, calibration: dict[str, Any]) -> None:
    conn.execute(insert(calibrations).values(name=name, calibration=calibration, created_at=now()))


def load_calibrations(conn: Connection) -> tuple[int, list[dict[str, Any]]]:
    """(newest row id or 0, every stored calibration) — the id tells a worker when to reload."""
    rows = conn.execute(
        select(calibrations.c.id, calibrations.c.calibration).order_by(calibrations.c.id)
    ).all()
    return (rows[-1][0] if rows else 0), [r[1] for r in rows]


def calibrations_version(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(calibrations.c.id), 0))).scalar_one()
