#!/usr/bin/env bash
# Export the working store as of a finished chunk of scripts/collect.sh, for committing:
#   scripts/snapshot.sh N     # N = architectures per space of the last fully labelled chunk
# Copies the SQLite store (an online backup: a running collection may go on), drops from the copy
# the architectures of later, unfinished chunks (sampling seed >= N, anchors kept) and the runs
# that built them, then adds to dataset/export/ a part with the rows its committed parts lack, and
# writes the data card, from the copy.
# Environment: DB (default var/dataset/edgeperf.sqlite), SNAP (default var/exp/snapshot.sqlite).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:?usage: $0 N (architectures per space of the last finished chunk)}
DB=${DB:-var/dataset/edgeperf.sqlite}
SNAP=${SNAP:-var/exp/snapshot.sqlite}
mkdir -p "$(dirname "$SNAP")"
rm -f "$SNAP"
sqlite3 "$DB" ".backup '$SNAP'"
sqlite3 "$SNAP" <<SQL
PRAGMA foreign_keys = OFF;
CREATE TEMP TABLE late AS SELECT id FROM architectures WHERE NOT anchor AND seed >= $N;
DELETE FROM labels WHERE graph_id IN (SELECT id FROM graphs WHERE arch_id IN (SELECT id FROM late));
DELETE FROM graphs WHERE arch_id IN (SELECT id FROM late);
DELETE FROM architectures WHERE id IN (SELECT id FROM late);
DELETE FROM runs WHERE CAST(json_extract(args, '$.n') AS INTEGER) > $N
  AND id NOT IN (SELECT run_id FROM labels);
SELECT 'kept ' || (SELECT count(*) FROM architectures) || ' architectures, '
  || (SELECT count(*) FROM graphs) || ' graphs, ' || (SELECT count(*) FROM labels) || ' labels';
SQL
unlabelled=$(sqlite3 "$SNAP" "SELECT count(*) FROM graphs g WHERE NOT EXISTS
  (SELECT 1 FROM labels l WHERE l.graph_id = g.id AND l.target = 'cpu-xnnpack-1t')")
if [[ "$unlabelled" != 0 ]]; then
  echo "chunk $N is not finished: $unlabelled graphs have no CPU label yet" >&2
  exit 1
fi
.venv/bin/edgeperf dataset export --db "$SNAP" --out dataset/export
.venv/bin/edgeperf dataset card --db "$SNAP"
