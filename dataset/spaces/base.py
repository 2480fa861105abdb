"""The search-space contract: a seeded sampler of JSON architecture specs and a builder of Keras models.

A spec is plain JSON (ints, strings, bools, lists, dicts) that names its space and seed; building
it twice gives the same layers, the same layer names and the same weights (PerfSAGE-style dataset).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from dataset.errors import SpecError

if TYPE_CHECKING:
    import keras

SPEC_VERSION = 1
T = TypeVar("T")

# Spec keys every space writes; a space adds its own after these.
COMMON_KEYS = ("space", "version", "seed", "input_shape")


def pick(rng: np.random.Generator, choices: Sequence[T]) -> T:
    """One element of ``choices``, keeping its Python type (``rng.choice`` returns numpy scalars)."""
    return choices[int(rng.integers(len(choices)))]


def sized(
    rng: np.random.Generator, size: float, low: float, high: float, jitter: float = 0.2
) -> float:
    """A value between ``low`` and ``high`` (log scale) at quantile ``size`` plus Gaussian jitter.

    Spaces draw one ``size`` ~ U(0, 1) per architecture and derive width, depth and resolution
    from it, so cost knobs move together: independent knobs would pile latencies up in the middle
    of the range, correlated ones spread log-latency roughly uniformly over it.
    """
    q = min(1.0, max(0.0, size + rng.normal(0.0, jitter)))
    return float(math.exp(math.log(low) + q * (math.log(high) - math.log(low))))


def sized_int(
    rng: np.random.Generator, size: float, low: int, high: int, jitter: float = 0.2
) -> int:
    """An int in [low, high] (linear scale) at quantile ``size`` plus jitter."""
    q = min(1.0, max(0.0, size + rng.normal(0.0, jitter)))
    return int(min(high, low + int(q * (high - low + 1))))


def sized_pick(
    rng: np.random.Generator, size: float, choices: Sequence[T], jitter: float = 0.2
) -> T:
    """The element of ascending ``choices`` at quantile ``size`` plus jitter."""
    return choices[sized_int(rng, size, 0, len(choices) - 1, jitter)]


def round_channels(value: float, divisor: int = 8, minimum: int = 8) -> int:
    """MobileNet's channel rounding: nearest multiple of ``divisor``, never below 90% of ``value``."""
    rounded = max(minimum, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


@dataclass(frozen=True)
class Range:
    """A declared range of one sampled quantity (inclusive), checked by the tests against samples."""

    low: float
    high: float


class SearchSpace(ABC):
    """A task search space: ``sample(seed)`` writes a spec, ``build(spec)`` makes its Keras model.

    Subclasses set ``name``, ``ranges`` (the declared range of each quantity :meth:`measure`
    reports) and implement :meth:`_sample` and :meth:`_build`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    ranges: ClassVar[dict[str, Range]] = {}

    def sample(self, seed: int) -> dict[str, Any]:
        """The spec of architecture number ``seed`` of this space (deterministic)."""
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"seed must be a non-negative int, got {seed!r}")
        rng = np.random.default_rng([SPEC_VERSION, seed, _name_key(self.name)])
        body = self._sample(rng)
        spec: dict[str, Any] = {"space": self.name, "version": SPEC_VERSION, "seed": seed}
        spec.update(body)
        return spec

    def build(self, spec: dict[str, Any]) -> keras.Model:
        """The Keras model of ``spec`` with weights drawn from ``spec['seed']``."""
        self.check(spec)
        try:
            model = self._build(spec)
        except SpecError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SpecError(
                f"malformed {self.name} spec (seed {spec.get('seed')!r}): "
                f"{type(exc).__name__}: {exc}; expected a spec as written by sample_spec"
            ) from exc
        seed_weights(model, int(spec["seed"]))
        return model

    def check(self, spec: dict[str, Any]) -> None:
        """Raise :class:`SpecError` unless ``spec`` has the common keys with sane values."""
        if spec.get("space") != self.name:
            raise SpecError(f"spec is for space {spec.get('space')!r}, expected {self.name!r}")
        missing = [k for k in (*COMMON_KEYS, *self.required_keys()) if k not in spec]
        if missing:
            raise SpecError(f"{self.name} spec is missing keys {missing}; got keys {sorted(spec)}")
        if spec["version"] != SPEC_VERSION:
            raise SpecError(f"spec version {spec['version']!r}, expected {SPEC_VERSION}")
        seed, shape = spec["seed"], spec["input_shape"]
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"spec seed must be a non-negative int, got {seed!r}")
        if not (isinstance(shape, list) and shape and all(_positive_int(d) for d in shape)):
            raise SpecError(f"input_shape must be a list of positive ints, got {shape!r}")

    def required_keys(self) -> tuple[str, ...]:
        """Keys this space's specs carry besides the common ones."""
        return ()

    @abstractmethod
    def measure(self, spec: dict[str, Any]) -> dict[str, float]:
        """The quantities named in ``ranges``, read off ``spec`` (for range-coverage checks)."""

    @abstractmethod
    def _sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """The space-specific part of a spec, including ``input_shape``."""

    @abstractmethod
    def _build(self, spec: dict[str, Any]) -> keras.Model:
        """The Keras model of a checked spec (weights are re-seeded afterwards)."""


def seed_weights(model: keras.Model, seed: int) -> None:
    """Overwrite every weight of ``model`` from a numpy generator seeded by ``seed``.

    Kernels (2-D and up) get He-normal values over their fan-in; 1-D weights keep their
    deterministic constant initialisers (zeros/ones) except biases and BN betas, which get small
    noise so int8 calibration sees non-trivial ranges. Keras' own initialisers draw from a
    process-global generator, so they alone would not make (space, seed) -> weights reproducible.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    for layer in model.layers:
        depthwise = "Depthwise" in type(layer).__name__
        for weight in layer.weights:
            shape = tuple(int(d) for d in weight.shape)
            name = weight.path.rsplit("/", 1)[-1]
            if len(shape) >= 2:
                fan_in = math.prod(shape[:-2]) if depthwise else math.prod(shape[:-1])
                values = rng.standard_normal(shape) * math.sqrt(2.0 / max(fan_in, 1))
            elif name in ("bias", "beta"):
                values = rng.standard_normal(shape) * 0.05
            elif name in ("gamma", "moving_variance"):
                values = 1.0 + rng.uniform(-0.2, 0.2, shape)
            elif name == "moving_mean":
                values = rng.standard_normal(shape) * 0.05
            else:  # positional embeddings and other 1-D tables
                values = rng.standard_normal(shape) * 0.02
            weight.assign(values.astype(weight.dtype))


def _name_key(name: str) -> int:
    """A stable integer from a space name (``hash`` is salted per process)."""
    return int.from_bytes(name.encode(), "little") % (2**63)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
