"""The build on a local, in-process Ray cluster: same tasks, measurement pinned by a resource."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dataset.build import BuildConfig, Builder, build
from dataset.errors import BuildError
from dataset.executors import device_resource
from dataset.measure import MeasureSettings
from dataset.store import Architecture, Graph, Label, Store
from dataset.targets import CPU_TARGET, all_targets

ray = pytest.importorskip("ray")


def test_measurement_needs_a_node_with_the_device_resource(tmp_path):
    from dataset.executors import RayExecutor

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        builder = Builder(BuildConfig(db_url=str(tmp_path / "x.sqlite"), ray_address="local"))
        builder._ray = RayExecutor("local")  # joins the running cluster, which lacks the device
        with pytest.raises(BuildError, match="no Ray node declares the resource 'device:cpu-xnnpack-1t'"):
            builder._device_units(device_resource(CPU_TARGET))
    finally:
        ray.shutdown()


def test_build_on_local_ray(tmp_path):
    db = tmp_path / "ray.sqlite"
    cfg = BuildConfig(
        spaces=("keyword_spotting",), n=2, workers=2, anchors=0, db_url=str(db),
        work_dir=tmp_path / "work", ray_address="local", progress=False,
        measure=MeasureSettings(budget_s=0.02, n_min=5),
    )  # fmt: skip
    result = build(cfg)
    assert result["done"]["convert"] == 2
    assert result["done"]["measure"] == 4
    assert not ray.is_initialized()  # the build shut down the cluster it started

    store = Store(db)
    with store.session() as sess:
        assert len(sess.scalars(select(Architecture)).all()) == 2
        graphs = sess.scalars(select(Graph)).all()
        labels = sess.scalars(select(Label)).all()
    assert len(graphs) == 4
    assert {(lab.graph_id, lab.target) for lab in labels} == {
        (g.id, t) for g in graphs for t in all_targets()
    }  # fmt: skip
    cpu = [lab for lab in labels if lab.target == CPU_TARGET]
    assert all(lab.latency_ms > 0 and lab.spread["n"] >= 5 for lab in cpu)
    store.dispose()
