"""POST /predict and /predict/batch over real HTTP: answers, the store, the per-layer breakdown, errors."""

from __future__ import annotations

import json

import pytest
from support.toy_graphs import toy_graph

from api.service import graph_sha256
from hwmodels.accelerator import estimate
from predictor.predict import Predictor
from predictor.reader import read_model
from predictor.targets import TARGETS


@pytest.fixture(scope="module")
def predictor(test_checkpoint) -> Predictor:
    return Predictor.load(test_checkpoint, registry=test_checkpoint.parent / "no-registry.json")


def _approx(entries):
    return [
        {k: pytest.approx(v) if isinstance(v, float) else v for k, v in e.items()} for e in entries
    ]


def test_predict_matches_in_process_predictor(live_server, mobilenet_v2_int8, predictor):
    data = mobilenet_v2_int8.read_bytes()
    with live_server.client() as c:
        r = c.post("/predict", files={"file": ("m.tflite", data)})
    assert r.status_code == 200, r.text
    body = r.json()
    [expected] = predictor.report([read_model(data)])
    assert body["model"] == expected["model"]
    assert body["predictions"] == _approx(expected["predictions"])
    assert [p["target"] for p in body["predictions"]] == list(TARGETS)
    assert body["checkpoint"] == predictor.meta["weights_sha256"][:16]
    assert body["layers"] is None


def test_second_answer_comes_from_the_store(start_server, zoo_model):
    # A server of its own: on the shared one, another test may have stored this model already.
    server = start_server()
    data = zoo_model("mobilenet_v2", "fp32").read_bytes()
    with server.client() as c:
        first = c.post(
            "/predict", files={"file": ("a.tflite", data)}, params={"targets": "npu-int8"}
        ).json()
        again = c.post(
            "/predict", files={"file": ("b.tflite", data)}, params={"targets": "npu-int8"}
        ).json()
        more = c.post(
            "/predict", files={"file": ("b.tflite", data)}, params={"targets": "npu-int8,npu-fp16"}
        ).json()
        history = c.get("/predictions", params={"model": first["model"]["sha256"]}).json()
    assert (first["cached"], again["cached"], more["cached"]) == (False, True, False)
    assert again["predictions"] == first["predictions"]
    assert more["predictions"][0] == first["predictions"][0]
    assert sorted(i["target"] for i in history["items"]) == ["npu-fp16", "npu-int8"]


def test_targets_subset_in_request_order(live_server, mobilenet_v2_int8):
    with live_server.client() as c:
        r = c.post(
            "/predict",
            files={"file": ("m.tflite", mobilenet_v2_int8.read_bytes())},
            data={"targets": "npu-fp8-e4m3, cpu-xnnpack-1t"},
        )
    assert r.status_code == 200, r.text
    assert [p["target"] for p in r.json()["predictions"]] == ["npu-fp8-e4m3", "cpu-xnnpack-1t"]


def test_float_model_on_ethos_is_null_with_a_reason(live_server, mobilenet_v2_fp32):
    with live_server.client() as c:
        r = c.post(
            "/predict",
            files={"file": ("m.tflite", mobilenet_v2_fp32.read_bytes())},
            params={"targets": "ethos-u55-128"},
        )
    [p] = r.json()["predictions"]
    assert (p["latency_ms"], p["energy_mj"], p["source"]) == (None, None, None)
    assert p["note"] == "Ethos-U runs int8 models only; got a fp32 model"


def test_layers_breakdown(live_server, mobilenet_v2_int8):
    graph = read_model(mobilenet_v2_int8)
    with live_server.client() as c:
        r = c.post(
            "/predict",
            files={"file": ("m.tflite", mobilenet_v2_int8.read_bytes())},
            params={"layers": "true", "targets": "npu-int8,npu-fp16,ethos-u55-128"},
        )
    body = r.json()
    layers = body["layers"]
    assert len(layers) == len(graph.main.ops)
    assert [row["op"] for row in layers] == [op.op_type for op in graph.main.ops]
    # Each target's analytic prior: the Ethos-U55's is the roofline of its Vela system.
    assert set(layers[0]["cost"]) == {"npu-int8", "npu-fp16", "ethos-u55-128"}
    u55 = sum(row["cost"]["ethos-u55-128"]["latency_ms"] for row in layers)
    assert u55 == pytest.approx(estimate(graph.layer_works(), "ethos-u55-128").latency_ms)
    total = sum(row["cost"]["npu-int8"]["latency_ms"] for row in layers)
    npu = next(p for p in body["predictions"] if p["target"] == "npu-int8")
    assert total == pytest.approx(npu["latency_ms"])
    assert sum(row["macs"] for row in layers) == body["model"]["macs"]


def test_batch_of_files_in_request_order(live_server, zoo_model):
    paths = [
        zoo_model("mobilenet_v2", "int8"),
        zoo_model("mobilenet_v2", "fp32"),
        zoo_model("mobilenet_v2", "int8"),
    ]
    with live_server.client() as c:
        r = c.post(
            "/predict/batch",
            files=[("files", (p.name, p.read_bytes())) for p in paths],
            params={"targets": "npu-int8"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 3
    assert [e["model"]["sha256"] for e in body["results"]] == [read_model(p).sha256 for p in paths]
    assert [e["model"]["precision"] for e in body["results"]] == ["int8", "fp32", "int8"]


def test_batch_of_graphs(live_server, predictor):
    graphs = [toy_graph([3, 8 + i, 16], 16, "int8", seed=i) for i in range(5)]
    payload = [g.to_dict() for g in graphs]
    with live_server.client() as c:
        r = c.post(
            "/predict/batch", json={"graphs": payload, "targets": ["cpu-xnnpack-1t", "npu-int4"]}
        )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    expected = predictor.predict(graphs, ["cpu-xnnpack-1t", "npu-int4"])
    assert [e["predictions"] for e in results] == [_approx(x) for x in expected]
    assert [e["model"]["sha256"] for e in results] == [graph_sha256(d) for d in payload]


def test_graph_hash_ignores_a_claimed_sha256(live_server):
    g = toy_graph([3, 12, 20], 16, "fp32", seed=99).to_dict()
    with live_server.client() as c:
        a = c.post("/predict/batch", json={"graphs": [{**g, "sha256": "0" * 64}]}).json()
        b = c.post("/predict/batch", json={"graphs": [{**g, "sha256": "f" * 64}]}).json()
    assert (
        a["results"][0]["model"]["sha256"] == b["results"][0]["model"]["sha256"] == graph_sha256(g)
    )


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"not a model at all", "file identifier"),
        (b"", "upload 'bad.tflite' is empty: expected a .tflite model"),
    ],
)
def test_predict_malformed_model(live_server, payload, detail):
    with live_server.client() as c:
        r = c.post("/predict", files={"file": ("bad.tflite", payload)})
    assert r.status_code == 400
    assert detail in r.json()["detail"]


def test_predict_malformed_model_quotes_the_reader(live_server):
    payload = b"not a model at all"
    with live_server.client() as c:
        r = c.post("/predict", files={"file": ("bad.tflite", payload)})
    with pytest.raises(Exception) as exc:
        read_model(payload)
    assert r.json()["detail"] == f"bad.tflite: {exc.value}"


def test_predict_too_large(live_server):
    cap = 16 * 1024 * 1024
    with live_server.client() as c:
        r = c.post("/predict", files={"file": ("big.tflite", b"\0" * (cap + 1))})
    assert r.status_code == 413
    assert r.json()["detail"] in (
        f"upload 'big.tflite' is {cap + 1} bytes; the limit is {cap}",
        f"upload 'big.tflite' exceeds the limit of {cap} bytes",
    )


def test_predict_unknown_target(live_server, mobilenet_v2_int8):
    with live_server.client() as c:
        r = c.post(
            "/predict",
            files={"file": ("m.tflite", mobilenet_v2_int8.read_bytes())},
            params={"targets": "npu-int8,tpu-v9"},
        )
    assert r.status_code == 404
    assert r.json()["detail"] == f"unknown target 'tpu-v9'; expected one of {sorted(TARGETS)}"


def test_predict_without_file(live_server):
    with live_server.client() as c:
        r = c.post("/predict", files={"targets": (None, "npu-int8")})
        form = c.post("/predict", data={"targets": "npu-int8"})
    assert form.status_code == 415
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "file"]


def test_batch_malformed_graph_names_the_item(live_server):
    good = toy_graph([3, 8, 16], 16, "int8", seed=1).to_dict()
    with live_server.client() as c:
        r = c.post(
            "/predict/batch", json={"graphs": [good, {"format": 1, "subgraphs": [{"name": "x"}]}]}
        )
    assert r.status_code == 400
    assert r.json()["detail"] == "graphs[1]: malformed compact OpGraph: KeyError('tensors')"


def test_batch_malformed_file_names_the_item(live_server, mobilenet_v2_int8):
    files = [
        ("files", ("ok.tflite", mobilenet_v2_int8.read_bytes())),
        ("files", ("junk.tflite", b"junk" * 10)),
    ]
    with live_server.client() as c:
        r = c.post("/predict/batch", files=files)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("junk.tflite: ")


@pytest.mark.parametrize(
    ("kwargs", "status", "detail"),
    [
        (
            {"content": b"x", "headers": {"content-type": "text/plain"}},
            415,
            "content type 'text/plain'; expected multipart/form-data or application/json",
        ),
        ({"files": {"other": ("a", b"x")}}, 422, "no models: send one or more 'files' parts"),
        (
            {"data": {"files": "not a file"}, "files": {"x": ("a", b"1")}},
            422,
            "files[0] is a text field; expected a .tflite file part",
        ),
    ],
)
def test_batch_bad_requests(live_server, kwargs, status, detail):
    with live_server.client() as c:
        r = c.post("/predict/batch", **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["detail"] == detail


def test_batch_json_validation(live_server):
    with live_server.client() as c:
        empty = c.post("/predict/batch", json={"graphs": []})
        extra = c.post("/predict/batch", json={"graphs": [{}], "colour": "red"})
        broken = c.post(
            "/predict/batch", content=b"{not json", headers={"content-type": "application/json"}
        )
        binary = c.post(
            "/predict/batch", content=b"\x0c\xff\xfe\x1f", headers={"content-type": "application/json"}
        )
    assert empty.status_code == extra.status_code == broken.status_code == binary.status_code == 422
    assert binary.json()["detail"][0]["type"] == "json_invalid"
    assert (
        empty.json()["detail"][0]["msg"]
        == "List should have at least 1 item after validation, not 0"
    )
    assert extra.json()["detail"][0]["loc"] == ["colour"]
    assert broken.json()["detail"][0]["type"] == "json_invalid"


def test_batch_cap(start_server):
    server = start_server(EDGEPERF_MAX_BATCH="4")
    graphs = [toy_graph([3, 8, 8 + i], 16, "fp32", seed=i).to_dict() for i in range(5)]
    with server.client() as c:
        ok = c.post("/predict/batch", json={"graphs": graphs[:4]})
        over = c.post("/predict/batch", json={"graphs": graphs})
        over_files = c.post(
            "/predict/batch",
            files=[
                ("files", (f"{i}.tflite", json.dumps(g).encode())) for i, g in enumerate(graphs)
            ],
        )
    assert ok.status_code == 200
    assert over.status_code == over_files.status_code == 413
    assert (
        over.json()["detail"]
        == over_files.json()["detail"]
        == "batch of 5 models; the limit is 4 per request"
    )


@pytest.mark.parametrize(
    ("body", "ctype", "status", "detail"),
    [
        (
            b"x",
            "text/plain",
            415,
            "content type 'text/plain'; expected multipart/form-data with a 'file' part",
        ),
        (
            b"--b\r\nno blank line\r\n--b--",
            "multipart/form-data; boundary=b",
            400,
            "malformed multipart body: part 0 has no blank line after its headers",
        ),
        (
            b"nothing",
            "multipart/form-data; boundary=b",
            400,
            "malformed multipart body: body does not contain the boundary from the content type",
        ),
        (
            b"--b\r\n",
            "multipart/form-data",
            400,
            "malformed multipart body: multipart content type without a boundary parameter",
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
            "multipart/form-data; boundary=b",
            400,
            "malformed multipart body: body ends before the closing boundary",
        ),
    ],
)
def test_predict_malformed_multipart(live_server, body, ctype, status, detail):
    with live_server.client() as c:
        r = c.post("/predict", content=body, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    assert r.json()["detail"] == detail


def test_predict_multipart_with_quoted_boundary_and_field(live_server, mobilenet_v2_int8):
    data = mobilenet_v2_int8.read_bytes()
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="targets"\r\n\r\nnpu-int8\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="q.tflite"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--xyz--\r\n"
    )
    with live_server.client() as c:
        r = c.post(
            "/predict",
            content=body,
            headers={"content-type": 'multipart/form-data; boundary="xyz"'},
        )
    assert r.status_code == 200, r.text
    assert [p["target"] for p in r.json()["predictions"]] == ["npu-int8"]
    assert r.json()["model"]["sha256"] == read_model(data).sha256
