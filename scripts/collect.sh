#!/usr/bin/env bash
# The long dataset collection, in growing chunks so that every chunk is fully labelled before the
# next starts. Safe to kill and rerun: the build skips what the store already holds.
#   scripts/collect.sh static    # sample + convert + Vela/analytic labels (load-insensitive)
#   scripts/collect.sh measure   # CPU latency/memory labels: run on an otherwise idle machine
# Environment: STEP (architectures per space added per chunk, default 100), TARGET (per space,
# default 2500), WORKERS (convert/label processes, default 1), DB (default: the build's default).
set -euo pipefail
cd "$(dirname "$0")/.."
STEP=${STEP:-100}
TARGET=${TARGET:-2500}
WORKERS=${WORKERS:-1}
DB_ARGS=()
[[ -n "${DB:-}" ]] && DB_ARGS=(--db "$DB")
mode=${1:-static}
case "$mode" in
  static) phases=(--phase sample --phase convert --phase label-static) ;;
  measure) phases=(--phase measure) ;;
  *) echo "usage: $0 static|measure" >&2; exit 2 ;;
esac
for ((n = STEP; n <= TARGET; n += STEP)); do
  echo "== $(date -u +%FT%TZ) $mode: $n architectures per space"
  nice -n 19 .venv/bin/edgeperf dataset build --spaces all --n "$n" --workers "$WORKERS" \
    "${DB_ARGS[@]}" "${phases[@]}" --no-progress
done
