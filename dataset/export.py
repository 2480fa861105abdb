"""The committed form of the dataset: xz-compressed JSON-lines files, and their import back.

Line 1 is a header (format, version, row counts); then one object per row, ``{"table": ...,
"row": {...}}``, tables in dependency order (runs, architectures, graphs, labels). xz over compact
JSON is what made 20k graphs fit the 50 MB budget (measured by ``bench/dataset_export.py``).

The committed export is a directory of such files, ``part-0000.jsonl.xz``, ``part-0001...``: each
new part holds only the rows that the earlier parts lack or hold in an older form, so a grown
dataset is committed as its growth (xz output does not delta: rewriting one whole file per
snapshot grew the repository by the whole dataset each time). A row of a later part supersedes
the same row of an earlier one. Import adds the rows that are not in the store yet, so importing
twice duplicates nothing.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dataset.errors import StoreError
from dataset.store import TABLES, Base, Label, Store, same_label

FORMAT = "edgeperf-dataset"
FORMAT_VERSION = 1
DEFAULT_EXPORT_PATH = Path(__file__).resolve().parent / "export"
PART_GLOB = "part-*.jsonl.xz"
_PART_NAME = re.compile(r"part-(\d{4,})\.jsonl\.xz")
_ORDER = ("runs", "architectures", "graphs", "labels")
_DATETIME_FIELDS = {"started_at", "finished_at", "created_at"}
_BATCH = 2000


def is_single_file(path: str | Path) -> bool:
    """Whether ``path`` names one export file (``*.jsonl.xz``) rather than a directory of parts."""
    return Path(path).name.endswith(".jsonl.xz")


def export_parts(directory: str | Path) -> list[Path]:
    """The part files of an export directory, in the order they were written."""
    parts = [p for p in Path(directory).glob(PART_GLOB) if _PART_NAME.fullmatch(p.name)]
    return sorted(parts, key=lambda p: int(_PART_NAME.fullmatch(p.name)[1]))


def _row(obj: Base) -> dict[str, Any]:
    out = {}
    for col in obj.__table__.columns:
        if col.key == "id" and isinstance(obj, Label):
            continue  # a label is identified by (graph, target, run); its integer id is local
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _line(name: str, row: dict[str, Any]) -> str:
    return json.dumps({"table": name, "row": row}, separators=(",", ":"), sort_keys=True)


def _key(name: str, row: dict[str, Any]) -> Any:
    return (row["graph_id"], row["target"], row["run_id"]) if name == "labels" else row["id"]


def _write(store: Store, path: Path, keep: dict[str, dict[Any, bytes]]) -> dict[str, int]:
    """Write the store's rows to ``path`` (atomically), leaving out those whose digest ``keep``
    already holds for their key. Returns rows written per table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(_ORDER, 0)
    body = path.with_suffix(path.suffix + ".rows")
    tmp = path.with_suffix(path.suffix + ".part")
    try:
        with store.session() as sess, lzma.open(body, "wt", encoding="utf-8", preset=9) as fh:
            for name in _ORDER:
                model = TABLES[name]
                order = Label.id if name == "labels" else model.id
                known = keep.get(name, {})
                for obj in sess.scalars(select(model).order_by(order)).yield_per(_BATCH):
                    row = _row(obj)
                    text = _line(name, row)
                    if known and known.get(_key(name, row)) == _digest(text):
                        continue
                    fh.write(text + "\n")
                    counts[name] += 1
        # The header counts the rows, so it is known last: it goes in as an xz stream of its own
        # in front of the rows' stream (a reader decompresses concatenated streams as one).
        header = {"format": FORMAT, "version": FORMAT_VERSION, "counts": counts}
        with open(tmp, "wb") as out, open(body, "rb") as rows:
            out.write(lzma.compress((json.dumps(header) + "\n").encode(), preset=9))
            shutil.copyfileobj(rows, out)
        tmp.replace(path)
    finally:
        body.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return counts


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def export_dataset(store: Store, path: str | Path) -> dict[str, int]:
    """Write every row of ``store`` to one file ``path`` (xz JSON lines); returns rows per table."""
    return _write(store, Path(path), keep={})


def export_part(
    store: Store, directory: str | Path = DEFAULT_EXPORT_PATH
) -> tuple[Path | None, dict[str, int]]:
    """Add a part to the export ``directory`` holding the rows of ``store`` that its parts lack.

    A row whose content differs from its last committed form (a run that went on, a label
    relabelled) is written again. Returns the new part (``None`` when nothing was new: no part is
    written) and the rows it holds per table.

    Raises:
        StoreError: a part already there is not a readable export.
    """
    directory = Path(directory)
    parts = export_parts(directory)
    known: dict[str, dict[Any, bytes]] = {name: {} for name in _ORDER}
    for part in parts:
        for name, row in _read(part):
            known[name][_key(name, row)] = _digest(_line(name, row))
    index = int(_PART_NAME.fullmatch(parts[-1].name)[1]) + 1 if parts else 0
    path = directory / f"part-{index:04d}.jsonl.xz"
    counts = _write(store, path, keep=known)
    if not any(counts.values()):
        path.unlink()
        return None, counts
    return path, counts


def _parse_row(name: str, row: dict[str, Any]) -> dict[str, Any]:
    columns = {c.key for c in TABLES[name].__table__.columns}
    unknown = set(row) - columns
    if unknown:
        raise StoreError(
            f"{name} row has unknown columns {sorted(unknown)}; expected {sorted(columns)}"
        )
    return {
        k: datetime.fromisoformat(v) if k in _DATETIME_FIELDS and isinstance(v, str) else v
        for k, v in row.items()
    }


def _read(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row as written) for each row of one export file, its header checked first."""
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
        try:
            for line in fh:
                item = json.loads(line)
                name = item.get("table")
                if name not in TABLES:
                    raise StoreError(
                        f"{path.name}: row for unknown table {name!r}; expected one of {_ORDER}"
                    )
                yield name, item["row"]
        except (lzma.LZMAError, EOFError, json.JSONDecodeError) as exc:
            raise StoreError(f"{path.name} is cut short or damaged: {exc}") from exc


def _existing(sess: Session, name: str) -> set:
    if name == "labels":
        return set(sess.execute(select(Label.graph_id, Label.target, Label.run_id)).all())
    return set(sess.scalars(select(TABLES[name].id)))


def _replace(sess: Session, name: str, row: dict[str, Any]) -> None:
    """Put a later part's form of a row that this import added from an earlier part."""
    if name != "labels":
        sess.merge(TABLES[name](**row))
        return
    sess.flush()
    old = sess.scalars(same_label(row)).one()
    sess.delete(old)
    sess.flush()
    sess.add(Label(**row))


def import_dataset(store: Store, path: str | Path = DEFAULT_EXPORT_PATH) -> dict[str, int]:
    """Add the rows of the export at ``path`` that ``store`` lacks; returns rows added per table.

    ``path`` is one export file or a directory of parts, read in order. Rows the store already
    held are left as they are; all is added in one transaction, or nothing.

    Raises:
        StoreError: the export is missing, is not an edgeperf dataset export of a known version,
            is cut short, or refers to rows it does not hold (a lone part of a directory).
    """
    path = Path(path)
    if path.is_dir():
        files = export_parts(path)
        if not files:
            raise StoreError(f"no {PART_GLOB} files in {str(path)!r}; expected an export directory")
    elif path.is_file():
        files = [path]
    else:
        raise StoreError(
            f"no dataset export at {str(path)!r}; expected a .jsonl.xz file or a directory of parts"
        )
    added = dict.fromkeys(_ORDER, 0)
    try:
        with store.session() as sess:
            held = {name: _existing(sess, name) for name in _ORDER}
            ours: dict[str, set] = {name: set() for name in _ORDER}
            pending, table = 0, None
            for file in files:
                for name, raw in _read(file):
                    if name != table:
                        sess.flush()  # a table's rows after those they refer to
                        table = name
                    row = _parse_row(name, raw)
                    key = _key(name, row)
                    if key in held[name]:
                        continue
                    if key in ours[name]:
                        _replace(sess, name, row)
                        continue
                    ours[name].add(key)
                    sess.add(TABLES[name](**row))
                    added[name] += 1
                    pending += 1
                    if pending >= _BATCH:
                        sess.flush()
                        pending = 0
    except IntegrityError as exc:
        raise StoreError(
            f"{path.name} holds rows that refer to rows neither it nor the store has "
            f"(a part imported without the parts before it?): {exc.orig}"
        ) from exc
    return added
