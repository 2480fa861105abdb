"""The Python client against the live service: batches of paths and of graphs, errors, history."""

from __future__ import annotations

import pytest
from support.toy_graphs import toy_graph

from api.client import Client, ServiceError
from api.service import graph_sha256
from predictor.reader import read_model


def test_predict_batch_paths(live_server, zoo_model):
    paths = [zoo_model("mobilenet_v2", "int8"), zoo_model("mobilenet_v2", "fp32")]
    with Client(live_server.url) as client:
        results = client.predict_batch(paths, targets=["npu-int8"])
        one = client.predict(paths[0], targets=["npu-int8"], layers=True)
    assert [r["model"]["sha256"] for r in results] == [read_model(p).sha256 for p in paths]
    assert one["predictions"] == results[0]["predictions"]
    assert len(one["layers"]) == len(read_model(paths[0]).main.ops)


def test_predict_batch_graphs(live_server):
    graphs = [toy_graph([3, 6 + i, 14], 16, "fp32", seed=900 + i) for i in range(3)]
    with Client(live_server.url) as client:
        from_objects = client.predict_batch(graphs, targets=["npu-int4", "cpu-xnnpack-1t"])
        from_dicts = client.predict_batch([g.to_dict() for g in graphs], targets=["npu-int4", "cpu-xnnpack-1t"])
        history = client.history(model=from_dicts[0]["model"]["sha256"])
    assert [r["model"]["sha256"] for r in from_objects] == [graph_sha256(g.to_dict()) for g in graphs]
    assert [r["cached"] for r in from_dicts] == [True, True, True]
    assert [r["predictions"] for r in from_dicts] == [r["predictions"] for r in from_objects]
    assert history["total"] == 2


def test_client_errors(live_server, mobilenet_v2_int8):
    with Client(live_server.url) as client:
        with pytest.raises(ServiceError) as exc:
            client.predict_batch([mobilenet_v2_int8], targets=["tpu-v9"])
        with pytest.raises(TypeError, match="not a mix"):
            client.predict_batch([mobilenet_v2_int8, toy_graph([3, 4], 8, "fp32", seed=0)])
        assert client.predict_batch([]) == []
        assert client.health()["status"] == "ok"
    assert exc.value.status_code == 404
    assert exc.value.detail.startswith("unknown target 'tpu-v9'")
