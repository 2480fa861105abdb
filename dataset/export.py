"""The committed form of the dataset: one xz-compressed JSON-lines file, and its import back.

Line 1 is a header (format, version, row counts); then one object per row, ``{"table": ...,
"row": {...}}``, tables in dependency order (runs, architectures, graphs, labels). xz over compact
JSON is what made 20k graphs fit the 50 MB budget (measured by ``bench/dataset_export.py``).
Import adds the rows that are not in the store yet, so importing twice duplicates nothing.
"""

from __future__ import annotations

import json
import lzma
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataset.errors import StoreError
from dataset.store import TABLES, Base, Label, Store

FORMAT = "edgeperf-dataset"
FORMAT_VERSION = 1
DEFAULT_EXPORT_PATH = Path(__file__).resolve().parent / "edgeperf-dataset.jsonl.xz"
_ORDER = ("runs", "architectures", "graphs", "labels")
_DATETIME_FIELDS = {"started_at", "finished_at", "created_at"}
_BATCH = 2000


def _row(obj: Base) -> dict[str, Any]:
    out = {}
    for col in obj.__table__.columns:
        if col.key == "id" and isinstance(obj, Label):
            continue  # a label is identified by (graph, target, run); its integer id is local
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def export_dataset(store: Store, path: str | Path = DEFAULT_EXPORT_PATH) -> dict[str, int]:
    """Write every row of ``store`` to ``path`` (xz JSON lines); returns rows per table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = {}
    tmp = path.with_suffix(path.suffix + ".part")
    with store.session() as sess:
        for name in _ORDER:
            counts[name] = sess.query(TABLES[name]).count()
        with lzma.open(tmp, "wt", encoding="utf-8", preset=9) as fh:
            header = {"format": FORMAT, "version": FORMAT_VERSION, "counts": counts}
            fh.write(json.dumps(header) + "\n")
            for name in _ORDER:
                model = TABLES[name]
                key = model.id if name != "labels" else Label.id
                for obj in sess.scalars(select(model).order_by(key)).yield_per(_BATCH):
                    line = {"table": name, "row": _row(obj)}
                    fh.write(json.dumps(line, separators=(",", ":"), sort_keys=True) + "\n")
    tmp.replace(path)
    return counts


def _parse_row(name: str, row: dict[str, Any]) -> dict[str, Any]:
    columns = {c.key for c in TABLES[name].__table__.columns}
    unknown = set(row) - columns
    if unknown:
        raise StoreError(f"{name} row has unknown columns {sorted(unknown)}; expected {sorted(columns)}")
    return {
        k: datetime.fromisoformat(v) if k in _DATETIME_FIELDS and isinstance(v, str) else v
        for k, v in row.items()
    }


def _existing(sess: Session, name: str) -> set:
    if name == "labels":
        return set(sess.execute(select(Label.graph_id, Label.target, Label.run_id)).all())
    return set(sess.scalars(select(TABLES[name].id)))


def _key(name: str, row: dict[str, Any]) -> Any:
    return (row["graph_id"], row["target"], row["run_id"]) if name == "labels" else row["id"]


def import_dataset(store: Store, path: str | Path = DEFAULT_EXPORT_PATH) -> dict[str, int]:
    """Add the rows of the export at ``path`` that ``store`` lacks; returns rows added per table.

    Raises:
        StoreError: the file is missing or is not an edgeperf dataset export of a known version.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no dataset export at {str(path)!r}; expected an .jsonl.xz file")
    added = dict.fromkeys(_ORDER, 0)
    try:
        fh = lzma.open(path, "rt", encoding="utf-8")  # noqa: SIM115 - closed by `with fh` below
        header = json.loads(fh.readline() or "null")
    except (lzma.LZMAError, json.JSONDecodeError, EOFError) as exc:
        raise StoreError(f"{path.name} is not an xz JSON-lines dataset export: {exc}") from exc
    with fh:
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise StoreError(f"{path.name} has header {header!r}; expected format {FORMAT!r}")
        if header.get("version") != FORMAT_VERSION:
            raise StoreError(
                f"{path.name} is format version {header.get('version')}; expected {FORMAT_VERSION}"
            )
        with store.session() as sess:
            seen: dict[str, set] = {}
            pending = 0
            for line in fh:
                item = json.loads(line)
                name = item.get("table")
                if name not in TABLES:
                    raise StoreError(f"row for unknown table {name!r}; expected one of {_ORDER}")
                if name not in seen:
                    sess.flush()
                    seen[name] = _existing(sess, name)
                row = _parse_row(name, item["row"])
                key = _key(name, row)
                if key in seen[name]:
                    continue
                seen[name].add(key)
                sess.add(TABLES[name](**row))
                added[name] += 1
                pending += 1
                if pending >= _BATCH:
                    sess.flush()
                    pending = 0
    return added

