"""Bad input: every malformed file ends in a ReaderError that says what is wrong."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fbbuild import ModelSpec, OpSpec, T, add_chain, build

from predictor import OpGraph, ReaderError, read_model


def test_valid_handmade_model_reads():
    graph = read_model(build(add_chain(3)))
    assert graph.summary.num_ops == 3
    assert graph.edges() == [(0, 1, 2), (1, 2, 4)]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty input"),
        (b"TFL", "at least 8"),
        (b"\x00" * 7, "at least 8"),
        (b"\x10\x00\x00\x00PK\x03\x04" + b"\x00" * 64, "file identifier"),
        (b"\xff\xff\xff\x7fTFL3", "outside|vtable|offset"),
    ],
    ids=["empty", "3-bytes", "7-zeros", "zip-header", "root-offset-past-end"],
)
def test_garbage_is_rejected(data, match):
    with pytest.raises(ReaderError, match=match):
        read_model(data)


def test_missing_file_is_a_reader_error(tmp_path):
    with pytest.raises(ReaderError, match="cannot read"):
        read_model(tmp_path / "nope.tflite")


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_truncated_real_model(mobilenet_v2_int8, fraction):
    data = mobilenet_v2_int8.read_bytes()
    with pytest.raises(ReaderError):
        read_model(data[: int(len(data) * fraction)])


def _spec(**changes) -> bytes:
    spec = add_chain(2)
    for key, value in changes.items():
        setattr(spec, key, value)
    return build(spec)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda s: setattr(s, "identifier", b"XXXX"), "file identifier"),
        (lambda s: setattr(s, "version", 2), "schema version 2"),
        (lambda s: s.ops.__setitem__(0, OpSpec(0, [0, 99], [2])), "names tensor 99"),
        (lambda s: s.ops.__setitem__(0, OpSpec(5, [0, 1], [2])), "uses opcode 5"),
        (lambda s: setattr(s, "outputs", [42]), "out of range"),
        (lambda s: s.tensors.__setitem__(1, T([1, 4], buffer=77)), "names buffer 77"),
        (lambda s: s.tensors.__setitem__(0, T([1, -5])), "dimensions must be >= -1"),
        (lambda s: s.tensors.__setitem__(0, T([1 << 20, 1 << 20, 1 << 20])), "elements"),
        (lambda s: s.tensors.__setitem__(0, T([1] * 12)), "rank 12"),
        (lambda s: s.tensors.__setitem__(0, T([1, 4], type_code=99)), "unknown type code 99"),
        (lambda s: s.ops.__setitem__(1, OpSpec(0, [4, 3], [2])), "written by operators"),
        (lambda s: setattr(s, "ops", []), "no operators"),
    ],
)
def test_inconsistent_models_are_rejected(mutate, match):
    spec = add_chain(2)
    mutate(spec)
    with pytest.raises(ReaderError, match=match):
        read_model(build(spec))


def test_cycle_is_rejected():
    # y0 = add(x, y1); y1 = add(y0, c): each op consumes the other's output.
    spec = ModelSpec(
        tensors=[T([1, 4]), T([1, 4], buffer=1), T([1, 4]), T([1, 4])],
        ops=[OpSpec(0, [0, 3], [2]), OpSpec(0, [2, 1], [3])],
        inputs=[0],
        outputs=[3],
        buffers=[b"", bytes(16)],
    )
    with pytest.raises(ReaderError, match="cycle"):
        read_model(build(spec))


def test_self_loop_is_rejected():
    spec = ModelSpec(
        tensors=[T([1, 4]), T([1, 4])], ops=[OpSpec(0, [0, 1], [1])], inputs=[0], outputs=[1]
    )
    with pytest.raises(ReaderError, match="own output"):
        read_model(build(spec))


def test_huge_vector_claim_allocates_nothing():
    data = bytearray(build(add_chain(1)))
    # Find the shape vector [1, 4] of the first tensor and claim 2**30 elements for it.
    needle = (2).to_bytes(4, "little") + (1).to_bytes(4, "little") + (4).to_bytes(4, "little")
    at = data.index(needle)
    data[at : at + 4] = (1 << 30).to_bytes(4, "little")
    with pytest.raises(ReaderError, match="claims 1073741824 elements"):
        read_model(bytes(data))


def test_custom_opcode_is_kept_by_name():
    spec = add_chain(1)
    spec.opcodes = [("CUSTOM", "MyFancyOp")]
    graph = read_model(build(spec))
    (op,) = graph.ops
    assert op.op_type == "MyFancyOp" and op.is_custom
    assert graph.summary.custom_ops == ["MyFancyOp"]


def test_dynamic_dimension_in_shape_is_costed_as_one():
    spec = add_chain(1)
    spec.tensors[0] = T([-1, 4], signature=[-1, 4])
    graph = read_model(build(spec))
    assert graph.main.tensors[0].shape == (1, 4)
    assert graph.summary.dynamic


@pytest.mark.parametrize(
    "bad", [{}, {"format": 2}, {"format": 1, "subgraphs": [{"tensors": [[1]]}]}, [], "x"]
)
def test_from_dict_rejects_malformed(bad):
    with pytest.raises(ReaderError):
        OpGraph.from_dict(bad)


def _check_outcome(data: bytes) -> None:
    """Any bytes: a graph that is fully usable, or a ReaderError; nothing else."""
    try:
        graph = read_model(data)
    except ReaderError as exc:
        assert str(exc)
        return
    json.dumps(graph.report())
    json.dumps(graph.to_dict())
    graph.layer_works()
    for t in (t for sg in graph.subgraphs for t in sg.tensors):
        t.name, t.quant  # noqa: B018 - the lazy fields must decode or raise ReaderError


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=512))
def test_fuzz_random_bytes(data):
    _check_outcome(data)
    _check_outcome(data[:4] + b"TFL3" + data[8:])


_SEED_MODEL = build(add_chain(3))


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SEED_MODEL) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_fuzz_mutated_model(flips):
    data = bytearray(_SEED_MODEL)
    for pos, value in flips:
        data[pos] = value
    try:
        _check_outcome(bytes(data))
    except ReaderError:
        pass  # lazily decoded fields may only fail with ReaderError


@settings(
    max_examples=60,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzz_mutated_real_model(mobilenet_v2_int8, data):
    raw = bytearray(mobilenet_v2_int8.read_bytes())
    # Mutate the header region, where the tables live (weights sit in the tail).
    limit = min(len(raw), 60_000)
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, limit - 1))] = data.draw(st.integers(0, 255))
    try:
        _check_outcome(bytes(raw))
    except ReaderError:
        pass
