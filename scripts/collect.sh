#!/usr/bin/env bash
# The long dataset collection, in growing chunks so that every chunk is fully labelled before the
# next starts. Safe to kill and rerun: the build skips what the store already holds.
#   scripts/collect.sh static    # sample + convert + Vela/analytic labels (load-insensitive)
#   scripts/collect.sh measure   # CPU latency/memory labels: run on an otherwise idle machine
#   scripts/collect.sh cycle     # per chunk: static, then measure (nothing else of ours running),
#                                # then prune the .tflite cache (a graph's file is ~6 MB: 20k of
#                                # them would not fit on the disk)
# Environment: STEP (architectures per space added per chunk, default 100), START (first chunk
# size, default STEP), TARGET (per space,
# default 2500), WORKERS (convert/label processes, default 1), DB (default: the build's default),
# NOISE_N (graphs kept for the noise pass when pruning, default 200), CPU (core to pin the
# measurement to, so other work can run on the remaining cores; default: not pinned), SNAPSHOT
# (cycle: 1 writes each finished chunk's export and data card with scripts/snapshot.sh, in the
# background while the next chunk converts; default 0).
set -euo pipefail
cd "$(dirname "$0")/.."
STEP=${STEP:-100}
START=${START:-$STEP}
TARGET=${TARGET:-2500}
WORKERS=${WORKERS:-1}
NOISE_N=${NOISE_N:-200}
DB_ARGS=()
[[ -n "${DB:-}" ]] && DB_ARGS=(--db "$DB")
MEASURE_ARGS=(--phase measure)
[[ -n "${CPU:-}" ]] && MEASURE_ARGS+=(--cpu "$CPU")
mode=${1:-static}
static=(--phase sample --phase convert --phase label-static)
snap_pid='' snap_n=''
mkdir -p var/logs
# A failed snapshot does not stop the collection (the store keeps every label): it says so.
wait_snapshot() {
  if [[ -n "$snap_pid" ]] && ! wait "$snap_pid"; then
    echo "snapshot of chunk $snap_n failed: see var/logs/snapshot-$snap_n.log" >&2
  fi
  snap_pid=''
}
build() {
  nice -n "$1" .venv/bin/edgeperf dataset build --spaces all --n "$2" --workers "$WORKERS" \
    "${DB_ARGS[@]}" "${@:3}" --no-progress
}
case "$mode" in
  static | measure | cycle) ;;
  *) echo "usage: $0 static|measure|cycle" >&2; exit 2 ;;
esac
for ((n = START; n <= TARGET; n += STEP)); do
  echo "== $(date -u +%FT%TZ) $mode: $n architectures per space"
  case "$mode" in
    static) build 19 "$n" "${static[@]}" ;;
    measure) build 0 "$n" "${MEASURE_ARGS[@]}" ;;
    cycle)
      build 19 "$n" "${static[@]}"
      build 0 "$n" "${MEASURE_ARGS[@]}"
      .venv/bin/edgeperf dataset prune "${DB_ARGS[@]}" --noise-n "$NOISE_N"
      if [[ "${SNAPSHOT:-0}" == 1 ]]; then
        wait_snapshot  # one snapshot at a time: the next overwrites the same files
        scripts/snapshot.sh "$n" > "var/logs/snapshot-$n.log" 2>&1 &
        snap_pid=$! snap_n=$n
      fi
      ;;
  esac
done
wait_snapshot
