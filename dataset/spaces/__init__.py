"""Task search spaces of the edgeperf dataset (PerfSAGE's EdgeDLPerf idea, arXiv 2301.10999):
seeded samplers of JSON architecture specs and builders of the matching Keras models.

``sample_spec(space, seed)`` -> spec; ``build_model(spec)`` -> Keras model with seeded weights;
``arch_id(spec)`` -> 16-hex hash of the canonical JSON. Same (space, seed) -> same spec and weights.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before the space modules import Keras/TF

from dataset.errors import SpecError, UnknownSpaceError
from dataset.spaces.base import Range, SearchSpace
from dataset.spaces.dense_prediction import DensePredictionSpace
from dataset.spaces.image_classification import ImageClassificationSpace
from dataset.spaces.keyword_spotting import KeywordSpottingSpace
from dataset.spaces.transformer import TransformerSpace

if TYPE_CHECKING:
    import keras

SPACES: dict[str, SearchSpace] = {
    space.name: space
    for space in (
        ImageClassificationSpace(),
        KeywordSpottingSpace(),
        DensePredictionSpace(),
        TransformerSpace(),
    )
}


def get_space(name: str) -> SearchSpace:
    """The space called ``name``; :class:`UnknownSpaceError` says which names exist."""
    try:
        return SPACES[name]
    except (KeyError, TypeError):
        raise UnknownSpaceError(
            f"unknown search space {name!r}; expected one of {sorted(SPACES)}"
        ) from None


def sample_spec(space: str, seed: int) -> dict[str, Any]:
    """The JSON-able spec of architecture ``seed`` of ``space`` (deterministic)."""
    return get_space(space).sample(seed)


def build_model(spec: dict[str, Any]) -> keras.Model:
    """The Keras model of ``spec``, weights drawn from ``spec['seed']``; :class:`SpecError` if malformed."""
    if not isinstance(spec, dict):
        raise SpecError(f"spec must be a dict as written by sample_spec, got {type(spec).__name__}")
    if "space" not in spec:
        raise SpecError(f"spec has no 'space' key; got keys {sorted(spec)}")
    return get_space(spec["space"]).build(spec)


def canonical_json(spec: dict[str, Any]) -> str:
    """The spec as compact JSON with sorted keys: the form that is hashed and stored."""
    try:
        return json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SpecError(
            f"spec is not plain JSON ({exc}); expected what sample_spec writes"
        ) from exc


def arch_id(spec: dict[str, Any]) -> str:
    """A stable 16-hex-digit id: the first 64 bits of SHA-256 over :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]


__all__ = [
    "SPACES",
    "Range",
    "SearchSpace",
    "arch_id",
    "build_model",
    "canonical_json",
    "get_space",
    "sample_spec",
]
