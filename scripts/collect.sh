#!/usr/bin/env bash
# The long dataset collection, in growing chunks so that every chunk is fully labelled before the
# next starts. Safe to kill and rerun: the build skips what the store already holds.
#   scripts/collect.sh static    # sample + convert + Vela/analytic labels (load-insensitive;
#                                # at nice 19 in a session of its own: other work goes first)
#   scripts/collect.sh measure   # CPU latency/memory labels: run on an otherwise idle machine
#   scripts/collect.sh cycle     # per chunk: static, then measure, then prune the .tflite cache
#                                # (a graph's file is ~6 MB: 20k of them would not fit the disk)
# Environment: STEP (architectures per space added per chunk, default 100), START (first chunk
# size, default STEP), TARGET (per space, default 2500; the last chunk, also when STEP does not
# land on it), WORKERS (convert/label processes, default 1), DB (default: the build's default),
# NOISE_N (graphs kept for the noise pass when pruning, default 200), CPU (core to pin the
# measurement to, so other work can run on the remaining cores; default: not pinned), PIPELINE
# (cycle with CPU: 1 runs the next chunk's static phase on the other cores while this chunk is
# measured on CPU, then lets it onto every core; 0 measures with nothing else of ours running;
# default 1), SNAPSHOT (cycle: 1 writes each finished chunk's export part and data card with
# scripts/snapshot.sh, in the background while the next chunk converts; default 0).
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
# Pinning the measurement to one core and a static phase to the others left the timings within
# their own noise (bench/pinning.py, 60 graphs each timed quiet / beside it / quiet, two runs:
# busy against quiet 4.6-6.1 % MAPE, quiet against quiet 4.3 and 5.4 %; median ratio 0.996-0.999).
cores=$(.venv/bin/python -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0)))))')
others=''
if [[ -n "${CPU:-}" && "${PIPELINE:-1}" == 1 ]]; then
  others=$(.venv/bin/python -c "import os; print(','.join(str(c) for c in sorted(os.sched_getaffinity(0)) if c != $CPU))")
fi
# A failed snapshot does not stop the collection (the store keeps every label): it says so.
wait_snapshot() {
  if [[ -n "$snap_pid" ]] && ! wait "$snap_pid"; then
    echo "snapshot of chunk $snap_n failed: see var/logs/snapshot-$snap_n.log" >&2
  fi
  snap_pid=''
}
# Linux schedules each session as one group (autogroup) and `nice` only ranks processes within a
# group, so a niced build in the caller's session still took half the cores from a training or a
# benchmark started in another terminal. A niced build runs in a session of its own, niced as a
# group; a signal to this script is passed on to it.
build_pid='' static_pid=''
stop() {
  [[ -n "$build_pid" ]] && kill -TERM -- "-$build_pid" 2>/dev/null
  [[ -n "$static_pid" ]] && kill -TERM -- "-$static_pid" 2>/dev/null
  exit 143
}
trap stop INT TERM
build_cmd() {
  cmd=(.venv/bin/edgeperf dataset build --spaces all --n "$1" --workers "$WORKERS"
    "${DB_ARGS[@]}" "${@:2}" --no-progress)
}
# The static phase of chunk $1 in the background, niced in a session of its own, on the cores
# but CPU; `wait_static` waits for it.
start_static() {
  build_cmd "$1" "${static[@]}"
  # Background job: setsid execs in place, so $! leads the new session and its process group.
  taskset -c "$others" setsid sh -c 'echo 19 > /proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"' \
    sh "${cmd[@]}" &
  static_pid=$!
}
# Let the background static phase (every process of its session) onto every core.
widen_static() {
  local pid
  for pid in $(ps -o pid= -s "$static_pid" 2>/dev/null); do
    taskset -a -p -c "$cores" "$pid" >/dev/null 2>&1 || true
  done
}
wait_static() {
  local rc=0
  wait "$static_pid" || rc=$?
  static_pid=''
  return "$rc"
}
build() {
  build_cmd "${@:2}"
  if [[ "$1" == 0 ]]; then
    "${cmd[@]}"
    return
  fi
  setsid sh -c 'echo "$1" > /proc/self/autogroup 2>/dev/null; shift; exec nice -n "$@"' \
    sh "$1" "$1" "${cmd[@]}" &
  build_pid=$!
  local rc=0
  wait "$build_pid" || rc=$?
  build_pid=''
  return "$rc"
}
case "$mode" in
  static | measure | cycle) ;;
  *) echo "usage: $0 static|measure|cycle" >&2; exit 2 ;;
esac
chunks=()
for ((n = START; n < TARGET; n += STEP)); do chunks+=("$n"); done
chunks+=("$TARGET")
for i in "${!chunks[@]}"; do
  n=${chunks[$i]} next=${chunks[$((i + 1))]:-}
  echo "== $(date -u +%FT%TZ) $mode: $n architectures per space"
  case "$mode" in
    static) build 19 "$n" "${static[@]}" ;;
    measure) build 0 "$n" "${MEASURE_ARGS[@]}" ;;
    cycle)
      if [[ -n "$static_pid" ]]; then
        wait_static  # started beside the last chunk's measurement
      else
        build 19 "$n" "${static[@]}"
      fi
      if [[ -n "$others" && -n "$next" ]]; then
        echo "== $(date -u +%FT%TZ) static phase of $next on cores $others beside the measurement"
        start_static "$next"
      fi
      build 0 "$n" "${MEASURE_ARGS[@]}"
      [[ -n "$static_pid" ]] && widen_static
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
