"""The dataset build: sample -> convert -> label-static -> measure, resumable and phase by phase.

Sampling and conversion make architectures and their fp32/int8 graphs; label-static adds Vela's
Ethos-U estimates and the analytic ``npu-*`` labels (both parallel); measure times every graph on
this machine one at a time, after everything else has stopped, and re-measures a fixed anchor set
in every run so runs on different machines can be reconciled. Every item is committed as it is
done: a killed build loses at most the items in flight, and a rerun skips what is stored.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from dataset.errors import BuildError
from dataset.executors import LocalExecutor, RayExecutor, device_resource
from dataset.measure import MeasureSettings, machine_description, runnable_others, tool_versions
from dataset.store import DEFAULT_DB_URL, DEFAULT_WORK_DIR, Label, Run, Store
from dataset.targets import CPU_TARGET, LabelKind, all_targets
from dataset.tasks import convert_task, measure_task, rebuild_task, static_task

log = logging.getLogger(__name__)

PHASES = ("sample", "convert", "label-static", "measure")
ALL_PHASES = (*PHASES, "noise")
SEEDS_PER_BUILD_SEED = 1_000_000  # architecture i of build seed s has sampling seed s*1e6 + i
ANCHOR_SEED_BASE = 900_000_000  # anchors' seeds: fixed, far from any build's seeds
CPU_ENERGY_NULL = "not measurable here: the build machine has no power meter"


@dataclass
class BuildConfig:
    """What to build and how.

    Attributes:
        spaces: Search-space names, or ``("all",)``.
        n: Architectures sampled per space (indices ``0..n-1``; growing ``n`` extends a build).
        workers: Parallel processes for convert and label-static.
        seed: Build seed; architecture ``i`` of a space uses sampling seed ``seed*1e6 + i``.
        db_url: Database URL or SQLite path.
        work_dir: Where the .tflite cache (``tflite/``) and logs (``logs/``) live.
        phases: Phases to run, in pipeline order (``noise`` is the second measurement pass).
        ray_address: Run tasks on Ray at this address (``local``: an in-process cluster).
        measure: Measurement settings (budget, repeat bounds, timeout, CPU pin).
        anchors: Size of the fixed anchor set re-measured in every run.
        noise_n: Graphs measured again by the ``noise`` phase.
        retry_failed: Try again the architectures whose conversion failed before.
        progress: Show progress bars.
    """

    spaces: tuple[str, ...] = ("all",)
    n: int = 10
    workers: int = 1
    seed: int = 0
    db_url: str = DEFAULT_DB_URL
    work_dir: Path = DEFAULT_WORK_DIR
    phases: tuple[str, ...] = PHASES
    ray_address: str | None = None
    measure: MeasureSettings = field(default_factory=MeasureSettings)
    anchors: int = 10
    noise_n: int = 200
    retry_failed: bool = False
    progress: bool = True


def resolve_spaces(names: Iterable[str]) -> list[str]:
    """Expand ``all`` and check every name against the registered search spaces."""
    from dataset.spaces import SPACES

    names = list(names)
    if not names or "all" in names:
        return sorted(SPACES)
    unknown = [n for n in names if n not in SPACES]
    if unknown:
        raise BuildError(f"unknown search space(s) {unknown}; expected names from {sorted(SPACES)}")
    return names


def resolve_phases(names: Iterable[str]) -> tuple[str, ...]:
    """Expand ``all`` (the four pipeline phases) and order the phases as the pipeline runs them."""
    names = list(names)
    if not names or "all" in names:
        names = [*PHASES, *[n for n in names if n == "noise"]]
    unknown = [n for n in names if n not in ALL_PHASES]
    if unknown:
        raise BuildError(f"unknown phase(s) {unknown}; expected some of {list(ALL_PHASES)} or all")
    return tuple(p for p in ALL_PHASES if p in names)


def anchor_plan(count: int) -> list[tuple[str, int]]:
    """The fixed anchor set: (space, seed) pairs, round-robin over every registered space."""
    from dataset.spaces import SPACES

    spaces = sorted(SPACES)
    return [(spaces[k % len(spaces)], ANCHOR_SEED_BASE + k) for k in range(count)]


class Builder:
    """Runs the phases of one build over one store; one :class:`Run` row per invocation."""

    def __init__(self, cfg: BuildConfig) -> None:
        if cfg.n < 0:
            raise BuildError(f"n must be >= 0 architectures per space, got {cfg.n}")
        if cfg.workers < 1:
            raise BuildError(f"workers must be >= 1, got {cfg.workers}")
        self.cfg = cfg
        self.phases = resolve_phases(cfg.phases)
        self.store = Store(cfg.db_url)
        self.cache_dir = Path(cfg.work_dir) / "tflite"
        self.log_dir = Path(cfg.work_dir) / "logs"
        self.run_id = ""
        self.done: dict[str, int] = {}
        self._ray: RayExecutor | None = None

    # --- running ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Run the configured phases; returns ``{"run_ids", "done": {phase: items}, "log"}``."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        args = {k: v for k, v in asdict(self.cfg).items() if k not in ("measure", "work_dir")}
        args["measure"] = asdict(self.cfg.measure)
        args["phases"] = list(self.phases)
        # The noise pass is a run of its own, so its labels are never mistaken for first ones.
        groups = [("build", [p for p in self.phases if p != "noise"]), ("noise", ["noise"])]
        groups = [(kind, phases) for kind, phases in groups if set(phases) & set(self.phases)]
        run_ids: list[str] = []

        def start(kind: str) -> str:
            run_ids.append(
                self.store.start_run(
                    kind, machine=machine_description(), tool_versions=tool_versions(), args=args
                )
            )
            return run_ids[-1]

        start(groups[0][0])  # later groups' runs start when they do: no empty runs if killed
        log_path = self.log_dir / f"build-{run_ids[0]}.log"
        handler = logging.FileHandler(log_path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        pkg_log = logging.getLogger("dataset")
        pkg_log.addHandler(handler)
        old_level = pkg_log.level
        pkg_log.setLevel(logging.INFO)
        restore = _terminate_on_sigterm()
        try:
            for i, (kind, phases) in enumerate(groups):
                run_id = run_ids[0] if i == 0 else start(kind)
                self.run_id = run_id
                log.info("run %s (%s): phases %s, config %s", run_id, kind, phases, args)
                for phase in phases:
                    t0 = time.perf_counter()
                    items = getattr(self, "_phase_" + phase.replace("-", "_"))()
                    seconds = time.perf_counter() - t0
                    self.done[phase] = items
                    self.store.record_phase(run_id, phase, items, seconds)
                    log.info("phase %s: %d items in %.1f s", phase, items, seconds)
                self.store.finish_run(run_id)
                log.info("run %s finished", run_id)
        finally:
            if self._ray is not None:
                self._ray.shutdown()
            restore()
            pkg_log.removeHandler(handler)
            pkg_log.setLevel(old_level)
            handler.close()
            self.store.dispose()
        return {"run_ids": run_ids, "done": dict(self.done), "log": str(log_path)}

    def _executor(self) -> LocalExecutor | RayExecutor:
        """A fresh local pool per phase (gone before measuring); one Ray connection per build."""
        if self.cfg.ray_address:
            if self._ray is None:
                self._ray = RayExecutor(
                    self.cfg.ray_address,
                    local_resources={device_resource(CPU_TARGET): 1},
                    num_cpus=self.cfg.workers,
                )
            return self._ray
        return LocalExecutor(self.cfg.workers)

    def _release(self, executor: LocalExecutor | RayExecutor) -> None:
        if executor is not self._ray:
            executor.shutdown()

    def _bar(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit="item", disable=not self.cfg.progress)

    # --- phases ----------------------------------------------------------------------------

    def _phase_sample(self) -> int:
        from dataset.spaces import arch_id, sample_spec

        plan = [(space, self.cfg.seed * SEEDS_PER_BUILD_SEED + i, False)
                for space in resolve_spaces(self.cfg.spaces) for i in range(self.cfg.n)]
        plan = [(s, seed, True) for s, seed in anchor_plan(self.cfg.anchors)] + plan
        new = 0
        with self._bar(len(plan), "sample") as bar:
            for space, seed, anchor in plan:
                spec = sample_spec(space, seed)
                new += self.store.add_architecture(arch_id(spec), space, seed, spec, anchor=anchor)
                bar.update()
        log.info("sampled %d new architectures of %d planned", new, len(plan))
        return new

    def _phase_convert(self) -> int:
        todo = self.store.architectures_without_graphs(retry_failed=self.cfg.retry_failed)
        if not todo:
            return 0
        done = 0
        executor = self._executor()
        try:
            with self._bar(len(todo), "convert") as bar:
                submit = lambda arch: executor.submit(convert_task, arch.spec)
                for arch, result in _bounded(todo, submit, 2 * executor.slots):
                    bar.update()
                    if "error" in result:
                        self.store.set_convert_error(arch.id, result["error"])
                        continue
                    graphs = []
                    for g in result["graphs"]:
                        _write_atomic(self.cache_dir / f"{g['id']}.tflite", g.pop("tflite"))
                        graphs.append(g)
                    clash = self.store.add_graphs(arch.id, graphs)
                    if clash:
                        self.store.set_convert_error(arch.id, clash)
                        continue
                    done += 1
        finally:
            self._release(executor)
        return done

    def _phase_label_static(self) -> int:
        targets = [t.name for t in all_targets().values() if t.kind is not LabelKind.MEASURED]
        have = self.store.labelled_pairs(targets)
        jobs = []
        for g in self.store.graphs():
            missing = [t for t in targets if (g.id, t) not in have]
            if missing:
                jobs.append((g, missing))
        if not jobs:
            return 0
        from hwmodels import fingerprint

        # Labels derived from hwmodels record its fingerprint (see dataset.relabel).
        machine, versions = machine_description(), {**tool_versions(), "hwmodels": fingerprint()}
        done = 0
        executor = self._executor()

        def submit(job: tuple) -> Future:
            g, missing = job
            opgraph = self.store.opgraph(g.id)
            return executor.submit(static_task, self._cached(g.id), g.precision, opgraph, missing)

        try:
            with self._bar(len(jobs), "label-static") as bar:
                for (g, _missing), labels in _bounded(jobs, submit, 2 * executor.slots):
                    for lab in labels:
                        self.store.add_label(
                            graph_id=g.id, run_id=self.run_id, machine=machine,
                            tool_versions=versions, **_label_fields(lab),
                        )  # fmt: skip
                        done += 1
                    bar.update()
        finally:
            self._release(executor)
        return done

    def _phase_measure(self) -> int:
        anchors = self.store.anchor_graph_ids()
        measured = self.store.labelled_pairs([CPU_TARGET])
        this_run = self.store.labels_of_run(self.run_id)
        graphs = self.store.graphs()
        # Anchors first, so even a run killed early has them.
        todo = [g for g in graphs if g.id in anchors and (g.id, CPU_TARGET) not in this_run]
        self._restore_anchor_files(todo)
        todo += [g for g in graphs if g.id not in anchors and (g.id, CPU_TARGET) not in measured]
        return self._measure(todo, "measure")

    def _restore_anchor_files(self, anchors: list) -> None:
        """Rebuild the anchors' missing .tflite files from their specs (a new work directory, a
        store imported from an export): every run must re-measure them, or runs on two machines
        cannot be reconciled. A rebuild is kept only if it is the stored graph, byte for byte or
        (converted on another CPU) op graph for op graph; see :func:`rebuild_task`."""
        missing: dict[str, dict[str, Any]] = {}
        for g in anchors:
            if self._cached(g.id) is None:
                missing.setdefault(g.arch_id, {})[g.id] = self.store.opgraph(g.id)
        if not missing:
            return
        specs = self.store.specs(missing)
        executor = LocalExecutor(1)  # TensorFlow stays out of the measuring process
        counts = {"exact": 0, "equivalent": 0, "error": 0}
        try:
            with self._bar(len(missing), "rebuild anchors") as bar:
                for arch, result in _bounded(
                    sorted(missing),
                    lambda a: executor.submit(rebuild_task, specs[a], missing[a]),
                    1,
                ):  # fmt: skip
                    for gid, rebuilt in result.items():
                        if "error" in rebuilt:
                            log.warning("anchor %s (arch %s): %s", gid[:12], arch, rebuilt["error"])
                            counts["error"] += 1
                            continue
                        self.cache_dir.mkdir(parents=True, exist_ok=True)
                        (self.cache_dir / f"{gid}.tflite").write_bytes(rebuilt["tflite"])
                        counts[rebuilt["rebuild"]] += 1
                    bar.update()
        finally:
            executor.shutdown()
        log.info("anchor files rebuilt from their specs: %s", counts)

    def _phase_noise(self) -> int:
        done, candidates = _noise_progress(self.store)
        # Only graphs whose .tflite is still cached (``prune_cache`` keeps enough of them).
        cached = [g for g in candidates if (self.cache_dir / f"{g}.tflite").is_file()]
        chosen = set(cached[: max(0, self.cfg.noise_n - done)])
        todo = [g for g in self.store.graphs() if g.id in chosen]
        return self._measure(todo, "noise")

    def _measure(self, todo: list, desc: str) -> int:
        todo = [g for g in todo if self._cached(g.id) is not None]
        if not todo:
            return 0
        settings = asdict(self.cfg.measure)
        cpu = self.cfg.measure.cpu
        others = 0.0 if self.cfg.ray_address else runnable_others(cpu=cpu)
        if others >= 0.5:
            log.warning(
                "machine is busy (%.1f other tasks runnable %s, 1-min load %.1f, %d cores): %s "
                "labels will be noisy; measure on a quiet machine or pin other work elsewhere",
                others, "anywhere" if cpu is None else f"on core {cpu}", os.getloadavg()[0],
                os.cpu_count() or 1, CPU_TARGET,
            )  # fmt: skip
        done = 0
        with self._bar(len(todo), desc) as bar:
            if self.cfg.ray_address:
                executor = self._executor()
                resource = device_resource(CPU_TARGET)
                units = self._device_units(resource)
                submit = lambda g: executor.submit(
                    measure_task, self._cached(g.id), settings, resources={resource: 1}
                )
                try:
                    for g, result in _bounded(todo, submit, units):
                        self._store_measurement(g.id, result)
                        done += 1
                        bar.update()
                finally:
                    self._release(executor)
            else:
                # Sequential in this process's child: nothing else of ours runs meanwhile.
                for g in todo:
                    self._store_measurement(g.id, measure_task(self._cached(g.id), settings))
                    done += 1
                    bar.update()
        return done

    def _device_units(self, resource: str) -> int:
        import ray

        units = int(ray.cluster_resources().get(resource, 0))
        if units < 1:
            raise BuildError(
                f"no Ray node declares the resource {resource!r}; expected a measuring node "
                f"started with --resources='{{\"{resource}\": 1}}'"
            )
        return units

    def _store_measurement(self, graph_id: str, result: dict[str, Any]) -> None:
        if "error" in result:
            log.warning("no %s label for %s: %s", CPU_TARGET, graph_id, result["error"])
            self.store.add_label(
                graph_id=graph_id, target=CPU_TARGET, run_id=self.run_id,
                null_reason=result["error"], machine=machine_description(),
                tool_versions=result["tool_versions"],
            )  # fmt: skip
            return
        m = result["measurement"]
        spread = {
            "p10_ms": m["p10_ms"], "p90_ms": m["p90_ms"], "iqr_ms": m["q3_ms"] - m["q1_ms"],
            "min_ms": m["min_ms"], "mean_ms": m["mean_ms"], "n": m["n"],
        }  # fmt: skip
        extra = {
            "first_invoke_ms": m["first_invoke_ms"],
            "warmup_n": m["warmup_n"],
            "anon_kb": m["anon_kb"],
            "hwm_reset": m["hwm_reset"],
            "cpu": m["cpu"],
            "loadavg_1m": m["loadavg_1m"],
            "null_fields": {"energy_mj": CPU_ENERGY_NULL},
        }
        self.store.add_label(
            graph_id=graph_id, target=CPU_TARGET, run_id=self.run_id,
            latency_ms=m["latency_ms"], memory_kb=m["memory_kb"], energy_mj=None,
            storage_kb=None, spread=spread, extra=extra, machine=m["machine"],
            tool_versions=result["tool_versions"],
        )  # fmt: skip

    def _cached(self, graph_id: str) -> bytes | None:
        path = self.cache_dir / f"{graph_id}.tflite"
        return path.read_bytes() if path.is_file() else None


def build(cfg: BuildConfig) -> dict[str, Any]:
    """Run a build (see :class:`BuildConfig`); returns the run ids, items per phase, log path."""
    return Builder(cfg).run()


def prune_cache(
    db_url: str = DEFAULT_DB_URL,
    work_dir: Path = DEFAULT_WORK_DIR,
    *,
    noise_n: int = 200,
    dry_run: bool = False,
    min_age_s: float = 600.0,
) -> dict[str, int]:
    """Delete the cached .tflite of every graph that no later phase needs; returns counts.

    A file is kept while its graph still lacks a label (static target or the CPU measurement),
    while it is an anchor's (re-measured by every run), while the noise pass, short of
    ``noise_n`` pairs, could still pick it, and while it is younger than ``min_age_s``: a build
    converting beside the prune writes a file before it stores the graph. Conversion is
    deterministic, so a pruned file is rebuilt from its stored spec if it is ever needed again:
    byte for byte on the same machine, up to float rounding of the int8 scales on another CPU.
    """
    young_after = time.time() - min_age_s
    store = Store(db_url)
    try:
        targets = list(all_targets())
        have = store.labelled_pairs(targets)
        anchors = store.anchor_graph_ids()
        keep = set(anchors)
        for g in store.graphs():
            if any((g.id, t) not in have for t in targets):
                keep.add(g.id)
        done, candidates = _noise_progress(store)
        cache_dir = Path(work_dir) / "tflite"
        cached = sorted(g for g in candidates if (cache_dir / f"{g}.tflite").is_file())
        keep.update(cached[: max(0, noise_n - done)])
    finally:
        store.dispose()
    removed = kept = freed = 0
    for path in sorted(cache_dir.glob("*.tflite")):
        try:
            young = path.stat().st_mtime > young_after
        except FileNotFoundError:
            continue
        if path.stem in keep or young:
            kept += 1
            continue
        removed += 1
        freed += path.stat().st_size
        if not dry_run:
            path.unlink(missing_ok=True)
    log.info("pruned %d cached models (%d bytes), kept %d", removed, freed, kept)
    return {"removed": removed, "kept": kept, "freed_bytes": freed}


def _noise_progress(store: Store) -> tuple[int, list[str]]:
    """Noise-pass pairs so far, and the measured graphs it has not yet measured again."""
    with store.session() as sess:
        first = set(
            sess.scalars(
                select(Label.graph_id)
                .join(Run)
                .where(Label.target == CPU_TARGET, Run.kind == "build",
                       Label.latency_ms.is_not(None))
            )
        )  # fmt: skip
        again = set(
            sess.scalars(
                select(Label.graph_id).join(Run).where(Label.target == CPU_TARGET, Run.kind == "noise")
            )
        )
    return len(first & again), sorted(first - again)


# --- helpers --------------------------------------------------------------------------------

_LABEL_KEYS = ("target", "latency_ms", "energy_mj", "memory_kb", "storage_kb", "null_reason",
               "extra", "spread")  # fmt: skip


def _label_fields(lab: dict[str, Any]) -> dict[str, Any]:
    out = {k: lab[k] for k in _LABEL_KEYS if k in lab}
    out.setdefault("extra", {})
    out.setdefault("spread", {})
    return out


def _bounded(
    items: list, submit: Callable[[Any], Future], window: int
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(item, result)`` as tasks finish, with at most ``window`` in flight."""
    pending: dict[Future, Any] = {}
    queue = iter(items)
    exhausted = False
    while True:
        while not exhausted and len(pending) < max(1, window):
            item = next(queue, None)
            if item is None:
                exhausted = True
                break
            pending[submit(item)] = item
        if not pending:
            return
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            yield pending.pop(fut), fut.result()


def _write_atomic(path: Path, blob: bytes) -> None:
    if path.is_file():
        return
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(blob)
    os.replace(tmp, path)


def _terminate_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM unwind like Ctrl-C (pools shut down, the run's log closed); returns undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def _raise(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    return lambda: signal.signal(signal.SIGTERM, previous)
