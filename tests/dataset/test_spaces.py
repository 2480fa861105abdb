"""Search spaces: specs are JSON, deterministic per seed, cover the declared ranges, rebuild to the
same Keras model with the same weights, and malformed specs raise SpecError."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

from dataset.errors import SpecError, UnknownSpaceError
from dataset.spaces import SPACES, arch_id, build_model, get_space, sample_spec
from hwmodels.errors import EdgePerfError

SPACE_NAMES = sorted(SPACES)
COVERAGE_SEEDS = range(300)
# The variety each space promises (the list), keyed by the spec field that names it.
KINDS: dict[str, tuple[str, set[str]]] = {
    "image_classification": (
        "family",
        {"mobilenetv2", "mobilenetv3", "efficientnet", "mnasnet", "resnet"},
    ),
    "keyword_spotting": ("arch", {"ds_cnn", "conv1d"}),
    "dense_prediction": ("task", {"segmentation", "detection"}),
    "transformer": ("arch", {"vit", "hybrid"}),
}


# Input sizes (values) of cheap architectures; sampled widths grow with the input size.
SMALL_INPUT_VALUES: dict[str, int] = {"keyword_spotting": 62 * 20}


def small_seeds(space: str, count: int) -> list[int]:
    """The first ``count`` seeds with a small input (cheap to build and convert)."""
    limit = SMALL_INPUT_VALUES.get(space, 96 * 96 * 3)
    found = [s for s in range(200) if np.prod(sample_spec(space, s)["input_shape"]) <= limit]
    assert len(found) >= count, f"{space}: only {len(found)} small seeds in 0..199"
    return found[:count]


def test_the_four_task_spaces_are_registered():
    assert set(KINDS) <= set(SPACES)
    for name, space in SPACES.items():
        assert space.name == name and space.description and space.ranges


@pytest.mark.parametrize("space", SPACE_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 7, 123456])
def test_spec_is_json_and_deterministic(space, seed):
    spec = sample_spec(space, seed)
    assert json.loads(json.dumps(spec)) == spec
    assert spec["space"] == space and spec["seed"] == seed
    assert all(isinstance(d, int) and d > 0 for d in spec["input_shape"])
    assert sample_spec(space, seed) == spec
    assert re.fullmatch(r"[0-9a-f]{16}", arch_id(spec))
    assert arch_id(sample_spec(space, seed)) == arch_id(spec)
    assert arch_id(json.loads(json.dumps(spec))) == arch_id(spec)


@pytest.mark.parametrize("space", SPACE_NAMES)
def test_seeds_give_distinct_architectures(space):
    ids = {arch_id(sample_spec(space, s)) for s in range(50)}
    shapes = {
        json.dumps({k: v for k, v in sample_spec(space, s).items() if k != "seed"})
        for s in range(50)
    }
    assert len(ids) == 50
    assert len(shapes) >= 45  # architectures themselves differ, not only their seeds


@pytest.mark.parametrize("space", SPACE_NAMES)
def test_samples_stay_in_and_cover_the_declared_ranges(space):
    declared = SPACES[space].ranges
    samples = [SPACES[space].measure(sample_spec(space, s)) for s in COVERAGE_SEEDS]
    for quantity, rng in declared.items():
        values = [m[quantity] for m in samples]
        assert rng.low <= min(values) and max(values) <= rng.high, (
            quantity,
            min(values),
            max(values),
        )
        span = rng.high - rng.low
        assert min(values) <= rng.low + 0.2 * span, (quantity, "low end not reached", min(values))
        assert max(values) >= rng.high - 0.2 * span, (quantity, "high end not reached", max(values))


@pytest.mark.parametrize("space", SPACE_NAMES)
def test_every_kind_of_the_space_is_sampled(space):
    field, kinds = KINDS[space]
    assert {sample_spec(space, s)[field] for s in COVERAGE_SEEDS} == kinds


@pytest.mark.parametrize("space", SPACE_NAMES)
def test_rebuild_gives_same_layers_and_weights(space):
    for seed in small_seeds(space, 2):
        spec = sample_spec(space, seed)
        first, second = build_model(spec), build_model(json.loads(json.dumps(spec)))
        assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]
        weights_a, weights_b = first.get_weights(), second.get_weights()
        assert len(weights_a) == len(weights_b) > 0
        assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b, strict=True))
        assert tuple(first.input_shape) == (1, *spec["input_shape"])


@pytest.mark.parametrize("space", SPACE_NAMES)
def test_weights_depend_on_the_seed(space):
    seed = small_seeds(space, 1)[0]
    spec = sample_spec(space, seed)
    other = dict(spec, seed=seed + 10_000)  # same architecture, other weights
    a, b = build_model(spec).get_weights(), build_model(other).get_weights()
    assert any(w.ndim >= 2 and not np.array_equal(x, w) for x, w in zip(a, b, strict=True))


@pytest.mark.parametrize("space", SPACE_NAMES)
def test_model_runs_and_output_shape_matches_the_spec(space):
    seed = small_seeds(space, 1)[0]
    spec = sample_spec(space, seed)
    model = build_model(spec)
    x = np.random.default_rng(0).uniform(-1, 1, (1, *spec["input_shape"])).astype(np.float32)
    outputs = model(x, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    assert all(np.isfinite(np.asarray(o)).all() for o in outputs)
    if spec.get("task") == "detection":
        boxes, scores = (np.asarray(o) for o in outputs)
        assert boxes.shape[0] == 1 and boxes.shape[2] == 4
        assert scores.shape == (1, boxes.shape[1], spec["num_classes"])
    elif spec.get("task") == "segmentation":
        assert np.asarray(outputs[0]).shape == (1, *spec["input_shape"][:2], spec["num_classes"])
    else:
        assert np.asarray(outputs[0]).shape == (1, spec["num_classes"])


def _without(spec: dict, key: str) -> dict:
    return {k: v for k, v in spec.items() if k != key}


def _broken_stage(spec: dict) -> dict:
    spec = copy.deepcopy(spec)
    spec["stages"][0]["block"] = "capsule"
    return spec


@pytest.mark.parametrize(
    ("make_spec", "match"),
    [
        (lambda s: [1, 2, 3], "spec must be a dict"),
        (lambda s: _without(s, "space"), "has no 'space' key"),
        (lambda s: dict(s, space="speech_synthesis"), "unknown search space 'speech_synthesis'"),
        (lambda s: _without(s, "stages"), r"missing keys \['stages'\]"),
        (lambda s: dict(s, version=99), "spec version 99, expected 1"),
        (lambda s: dict(s, seed=-3), "seed must be a non-negative int, got -3"),
        (lambda s: dict(s, input_shape=[96, 0, 3]), r"input_shape must be a list of positive ints"),
        (lambda s: dict(s, input_shape="96x96"), r"input_shape must be a list of positive ints"),
        (_broken_stage, "malformed image_classification spec.*'capsule'"),
        (lambda s: dict(s, stem={"filters": 8}), r"malformed image_classification spec.*KeyError"),
    ],
)
def test_malformed_specs_raise_spec_error(make_spec, match):
    spec = sample_spec("image_classification", small_seeds("image_classification", 1)[0])
    with pytest.raises(SpecError, match=match) as info:
        build_model(make_spec(spec))
    assert isinstance(info.value, EdgePerfError)


def test_spec_for_another_space_is_refused_by_that_space():
    spec = sample_spec("keyword_spotting", 0)
    with pytest.raises(
        SpecError, match="spec is for space 'keyword_spotting', expected 'transformer'"
    ):
        get_space("transformer").build(spec)


@pytest.mark.parametrize(
    ("space", "mutate", "match"),
    [
        (
            "keyword_spotting",
            lambda s: s.update(arch="lstm"),
            "arch 'lstm' is not ds_cnn or conv1d",
        ),
        (
            "keyword_spotting",
            lambda s: s.update(activation="tanh"),
            "activation 'tanh' is not one of",
        ),
        ("dense_prediction", lambda s: s.update(task="depth"), "task 'depth' is not segmentation"),
        ("transformer", lambda s: s.update(arch="rnn"), "arch 'rnn' is not vit or hybrid"),
        ("transformer", lambda s: s.update(heads=7, dim=64), "dim 64 is not a multiple of heads 7"),
    ],
)
def test_bad_values_in_other_spaces_raise_spec_error(space, mutate, match):
    spec = sample_spec(space, small_seeds(space, 1)[0])
    mutate(spec)
    with pytest.raises(SpecError, match=match):
        build_model(spec)


@pytest.mark.parametrize("name", ["imagenet", "", None])
def test_unknown_space_names_raise(name):
    with pytest.raises(UnknownSpaceError, match="unknown search space .*expected one of"):
        sample_spec(name, 0)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_bad_seeds_raise(seed):
    with pytest.raises(SpecError, match="seed must be a non-negative int"):
        sample_spec("transformer", seed)


def test_arch_id_refuses_non_json_specs():
    spec = dict(sample_spec("transformer", 0), dim=float("nan"))
    with pytest.raises(SpecError, match="spec is not plain JSON"):
        arch_id(spec)
