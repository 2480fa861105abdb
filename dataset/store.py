"""The dataset store: architectures, their TFLite graphs, per-target labels and collection runs.

SQLAlchemy 2 typed ORM over any database URL (a SQLite file by default). Labels keep their
spread, the machine and tool versions that made them and the run they belong to, so runs on
different machines can be reconciled through the anchor models. Writers commit item by item.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from dataset.errors import StoreError

DEFAULT_WORK_DIR = Path(__file__).resolve().parent.parent / "var" / "dataset"
DEFAULT_DB_URL = f"sqlite:///{DEFAULT_WORK_DIR / 'edgeperf.sqlite'}"


class GraphRef(NamedTuple):
    """A graph's identity without its payload."""

    id: str
    arch_id: str
    precision: str


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One invocation of a collection step (a build, a noise pass, an import)."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # build | noise | import
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    machine: Mapped[dict] = mapped_column(JSON, default=dict)
    tool_versions: Mapped[dict] = mapped_column(JSON, default=dict)
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    # Per phase: items done and seconds spent, for the throughput on the data card.
    phases: Mapped[dict] = mapped_column(JSON, default=dict)


class Architecture(Base):
    """A sampled architecture: its search space, sampling seed and the spec that rebuilds it."""

    __tablename__ = "architectures"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    space: Mapped[str] = mapped_column(String(64), index=True)
    seed: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict] = mapped_column(JSON)
    anchor: Mapped[bool] = mapped_column(Boolean, default=False)
    convert_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Graph(Base):
    """One converted TFLite graph; its id is the sha256 of the .tflite bytes."""

    __tablename__ = "graphs"
    __table_args__ = (UniqueConstraint("arch_id", "precision"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    arch_id: Mapped[str] = mapped_column(ForeignKey("architectures.id"), index=True)
    precision: Mapped[str] = mapped_column(String(16))  # fp32 | int8
    size_bytes: Mapped[int] = mapped_column(Integer)
    opgraph: Mapped[dict] = mapped_column(JSON)  # predictor OpGraph.to_dict()
    summary: Mapped[dict] = mapped_column(JSON)  # OpGraph.summary
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Label(Base):
    """One target's numbers for one graph from one run, or nulls and the reason."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("graph_id", "target", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    graph_id: Mapped[str] = mapped_column(ForeignKey("graphs.id"), index=True)
    target: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    energy_mj: Mapped[float | None] = mapped_column(Float)
    memory_kb: Mapped[float | None] = mapped_column(Float)
    storage_kb: Mapped[float | None] = mapped_column(Float)
    spread: Mapped[dict] = mapped_column(JSON, default=dict)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    null_reason: Mapped[str | None] = mapped_column(Text)
    machine: Mapped[dict] = mapped_column(JSON, default=dict)
    tool_versions: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


TABLES: dict[str, type[Base]] = {
    "runs": Run,
    "architectures": Architecture,
    "graphs": Graph,
    "labels": Label,
}


def same_label(fields: dict[str, Any]) -> Select:
    """The label with the graph, target and run of ``fields`` (a label's identity)."""
    return select(Label).where(
        Label.graph_id == fields["graph_id"],
        Label.target == fields["target"],
        Label.run_id == fields["run_id"],
    )


def _compact_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets `stats` read while a build writes; the timeout rides out short write locks.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """The dataset database: ``Store(url)`` opens (and creates) it.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.sqlite``, ``postgresql://...``) or a file path,
            which means a SQLite file there.
    """

    def __init__(self, url: str | Path = DEFAULT_DB_URL) -> None:
        self.url = self._resolve(url)
        self.engine: Engine = create_engine(self.url, json_serializer=_compact_json)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create_tables()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _create_tables(self, attempts: int = 10) -> None:
        # Two processes opening a new store race table by table ("table ... already exists");
        # each retry finds what the other made and creates the rest.
        for attempt in range(attempts):
            try:
                Base.metadata.create_all(self.engine)
                return
            except OperationalError as exc:
                if "already exists" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    @staticmethod
    def _resolve(url: str | Path) -> str:
        text = str(url)
        if "://" in text:
            if text.startswith("sqlite:///") and text != "sqlite:///:memory:":
                Path(text.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            return text
        if not text:
            raise StoreError("empty database location; expected a URL or a file path")
        path = Path(text).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as sess:
            try:
                yield sess
                sess.commit()
            except BaseException:
                sess.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

    # --- runs -------------------------------------------------------------------------------

    def start_run(self, kind: str, *, machine: dict, tool_versions: dict, args: dict) -> str:
        run_id = uuid.uuid4().hex[:16]
        with self.session() as sess:
            sess.add(
                Run(id=run_id, kind=kind, machine=machine, tool_versions=tool_versions, args=args)
            )
        return run_id

    def record_phase(self, run_id: str, phase: str, items: int, seconds: float) -> None:
        """Add ``items`` done in ``seconds`` to the run's tally for ``phase``."""
        with self.session() as sess:
            run = sess.get(Run, run_id)
            if run is None:
                raise StoreError(f"no run {run_id!r} in the store; expected one started here")
            tally = dict(run.phases or {})
            done = tally.get(phase, {"items": 0, "seconds": 0.0})
            tally[phase] = {
                "items": done["items"] + items,
                "seconds": round(done["seconds"] + seconds, 3),
            }
            run.phases = tally

    def finish_run(self, run_id: str) -> None:
        with self.session() as sess:
            run = sess.get(Run, run_id)
            if run is None:
                raise StoreError(f"no run {run_id!r} in the store; expected one started here")
            run.finished_at = utcnow()

    # --- items ------------------------------------------------------------------------------

    def add_architecture(
        self, arch_id: str, space: str, seed: int, spec: dict, *, anchor: bool = False
    ) -> bool:
        """Store an architecture unless its id is already there; returns whether it was new.

        An existing architecture that becomes an anchor is marked as one.
        """
        with self.session() as sess:
            row = sess.get(Architecture, arch_id)
            if row is not None:
                if anchor and not row.anchor:
                    row.anchor = True
                return False
            sess.add(Architecture(id=arch_id, space=space, seed=seed, spec=spec, anchor=anchor))
            return True

    def set_convert_error(self, arch_id: str, message: str) -> None:
        with self.session() as sess:
            row = sess.get(Architecture, arch_id)
            if row is None:
                raise StoreError(f"no architecture {arch_id!r}; expected a sampled one")
            row.convert_error = message

    def add_graphs(self, arch_id: str, graphs: list[dict]) -> str | None:
        """Store an architecture's graphs in one transaction (all precisions or none).

        Each dict holds ``id``, ``precision``, ``size_bytes``, ``opgraph`` and ``summary``.
        Returns ``None``, or why nothing was stored: a graph that another architecture already
        has (two specs that convert to the same bytes are one data point).
        """
        with self.session() as sess:
            for g in graphs:
                other = sess.get(Graph, g["id"])
                if other is not None and other.arch_id != arch_id:
                    return f"its {g['precision']} graph is the same as architecture {other.arch_id}'s"
            for g in graphs:
                if sess.get(Graph, g["id"]) is None:
                    sess.add(Graph(arch_id=arch_id, **g))
        return None

    def add_label(self, **fields: Any) -> None:
        """Store one label; a label for the same graph, target and run is replaced."""
        with self.session() as sess:
            old = sess.scalars(same_label(fields)).first()
            if old is not None:
                sess.delete(old)
                sess.flush()
            sess.add(Label(**fields))

    # --- queries ----------------------------------------------------------------------------

    def architectures_without_graphs(self, *, retry_failed: bool = False) -> list[Architecture]:
        with self.session() as sess:
            have = select(Graph.arch_id)
            q = select(Architecture).where(Architecture.id.not_in(have))
            if not retry_failed:
                q = q.where(Architecture.convert_error.is_(None))
            return list(sess.scalars(q.order_by(Architecture.anchor.desc(), Architecture.id)))

    def graphs(self) -> list[GraphRef]:
        """Every graph's id, architecture and precision (not its OpGraph: that is large)."""
        with self.session() as sess:
            rows = sess.execute(select(Graph.id, Graph.arch_id, Graph.precision).order_by(Graph.id))
            return [GraphRef(*row) for row in rows]

    def specs(self, arch_ids: Iterable[str]) -> dict[str, dict]:
        """The stored spec of each of ``arch_ids`` that the store holds."""
        with self.session() as sess:
            q = select(Architecture.id, Architecture.spec).where(Architecture.id.in_(set(arch_ids)))
            return dict(sess.execute(q).all())

    def opgraph(self, graph_id: str) -> dict:
        """The stored ``OpGraph.to_dict()`` of one graph."""
        with self.session() as sess:
            data = sess.scalar(select(Graph.opgraph).where(Graph.id == graph_id))
        if data is None:
            raise StoreError(f"no graph {graph_id!r} in the store; expected a converted one")
        return data

    def labelled_pairs(self, targets: list[str] | None = None) -> set[tuple[str, str]]:
        """(graph id, target) of every label, from any run."""
        with self.session() as sess:
            q = select(Label.graph_id, Label.target)
            if targets is not None:
                q = q.where(Label.target.in_(targets))
            return {(g, t) for g, t in sess.execute(q)}

    def labels_of_run(self, run_id: str) -> set[tuple[str, str]]:
        with self.session() as sess:
            q = select(Label.graph_id, Label.target).where(Label.run_id == run_id)
            return {(g, t) for g, t in sess.execute(q)}

    def anchor_graph_ids(self) -> set[str]:
        with self.session() as sess:
            q = select(Graph.id).join(Architecture).where(Architecture.anchor.is_(True))
            return set(sess.scalars(q))
