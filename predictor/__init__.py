"""Reading TFLite graphs and learning their performance."""

from predictor.errors import ReaderError
from predictor.graph import ModelSummary, Op, OpGraph, Quantization, Subgraph, Tensor
from predictor.reader import read_model

__all__ = [
    "ModelSummary",
    "Op",
    "OpGraph",
    "Quantization",
    "ReaderError",
    "Subgraph",
    "Tensor",
    "read_model",
]
