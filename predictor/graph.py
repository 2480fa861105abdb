"""The operator graph of a TFLite model: tensors, operators, edges, and derived work.

An :class:`OpGraph` is what every other stage consumes: the features of the GNN, the analytic
hardware estimate (through :meth:`OpGraph.layer_works`), the dataset store (through
:meth:`OpGraph.to_dict`), and the ``inspect`` command. Nodes are operators, edges are tensors from
producer to consumer, as in PerfSAGE.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np

from hwmodels.work import MAC_KINDS, LayerWork, OpKind
from predictor import opwork
from predictor.errors import ReaderError

# Bytes per element of each TFLite tensor type (strings/resources have no fixed size).
DTYPE_BYTES: dict[str, float] = {
    "float32": 4,
    "float16": 2,
    "int32": 4,
    "uint8": 1,
    "int64": 8,
    "string": 0,
    "bool": 1,
    "int16": 2,
    "complex64": 8,
    "int8": 1,
    "float64": 8,
    "complex128": 16,
    "uint64": 8,
    "resource": 0,
    "variant": 0,
    "uint32": 4,
    "uint16": 2,
    "int4": 0.5,
    "bfloat16": 2,
}
# Constant tensors of these types hold learned values (weights, biases, norms); int32/int64
# constants are usually shapes, axes or indices and count as parameters only as a MAC op's bias.
PARAM_DTYPES = frozenset(
    {"float32", "float16", "bfloat16", "float64", "int8", "uint8", "int16", "int4"}
)
FLOAT_DTYPES = frozenset({"float32", "float16", "bfloat16", "float64"})
_MAC_BIAS_INPUT = {
    "CONV_2D": 2,
    "DEPTHWISE_CONV_2D": 2,
    "FULLY_CONNECTED": 2,
    "TRANSPOSE_CONV": 3,
    "CONV_3D": 2,
}

PRECISIONS = ("fp32", "fp16", "int8", "dynamic_int8", "int16x8", "mixed")


@dataclass(slots=True)
class Quantization:
    """Affine quantisation of a tensor: real = scale * (q - zero_point), per tensor or channel.

    ``scale`` and ``zero_point`` are 1-D numpy arrays (views on the file's bytes when read).
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


_UNREAD = object()  # marks a lazily decoded field not read yet


def _repeated(value: float, n: int, dtype: type) -> np.ndarray:
    """``n`` copies of ``value`` as a read-only view of one element: the compact form keeps one
    scale and zero point per tensor, and full arrays of them held 15 % of a training set's graphs'
    memory (13,220 graphs: 6.11 GB, 5.19 GB with views)."""
    return np.broadcast_to(np.array(value, dtype), (n,))


class Tensor:
    """One tensor of a subgraph. ``shape`` has batch 1 where ``shape_signature`` has -1.

    ``name`` and ``quant`` are decoded from the file on first access: most uses of a graph never
    look at them, and decoding them for every tensor would double the parse time.
    """

    __slots__ = (
        "_decode",
        "_name",
        "_quant",
        "dtype",
        "index",
        "is_constant",
        "is_variable",
        "nbytes",
        "num_elements",
        "shape",
        "shape_signature",
    )

    def __init__(
        self,
        index: int,
        name: str | object,
        shape: tuple[int, ...],
        shape_signature: tuple[int, ...],
        dtype: str,
        is_constant: bool,
        quant: Quantization | None | object = None,
        is_variable: bool = False,
        decode: Any = None,
    ) -> None:
        self.index = index
        self.shape = shape
        self.shape_signature = shape_signature
        self.dtype = dtype
        self.is_constant = is_constant
        self.is_variable = is_variable
        self._name = name
        self._quant = quant
        self._decode = decode  # callable(field) -> value, for lazily read fields
        # Read many times while deriving work, so computed once.
        self.num_elements: int = prod(shape) if shape else 1
        self.nbytes: int = int(self.num_elements * DTYPE_BYTES.get(dtype, 0) + 0.5)

    @property
    def name(self) -> str:
        if self._name is _UNREAD:
            self._name = self._decode("name")
        return self._name  # type: ignore[return-value]

    @property
    def quant(self) -> Quantization | None:
        if self._quant is _UNREAD:
            self._quant = self._decode("quant")
        return self._quant  # type: ignore[return-value]

    @property
    def is_dynamic(self) -> bool:
        return any(d < 0 for d in self.shape_signature)

    def __repr__(self) -> str:
        return f"Tensor({self.index}, shape={list(self.shape)}, dtype={self.dtype}, constant={self.is_constant})"


@dataclass(slots=True)
class Op:
    """One operator (a graph node) and the work it does.

    ``inputs``/``outputs`` are tensor indices in the op's subgraph; -1 marks an omitted optional
    input. ``index`` is the op's position across all subgraphs (main subgraph first).
    """

    index: int
    subgraph: int
    position: int
    op_type: str
    is_custom: bool
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any]
    kind: OpKind = OpKind.OTHER
    macs: int = 0
    elem_ops: int = 0
    params: int = 0
    weight_bytes: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    weight_elems: int = 0
    input_elems: int = 0
    output_elems: int = 0
    kernel_hw: tuple[int, int] = (1, 1)
    in_channels: int = 0
    out_channels: int = 0

    @property
    def label(self) -> str:
        return f"{self.index}:{self.op_type}"


@dataclass(slots=True)
class Subgraph:
    index: int
    name: str
    tensors: list[Tensor]
    ops: list[Op]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ModelSummary:
    num_ops: int
    op_counts: dict[str, int]
    macs: int
    elem_ops: int
    params: int
    weight_bytes: int
    activation_bytes: int
    precision: str
    num_subgraphs: int
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    custom_ops: list[str]
    dynamic: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_ops": self.num_ops,
            "op_counts": dict(self.op_counts),
            "macs": self.macs,
            "elem_ops": self.elem_ops,
            "params": self.params,
            "weight_bytes": self.weight_bytes,
            "activation_bytes": self.activation_bytes,
            "precision": self.precision,
            "num_subgraphs": self.num_subgraphs,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "custom_ops": self.custom_ops,
            "dynamic": self.dynamic,
        }


@dataclass(slots=True)
class OpGraph:
    """A whole model: subgraphs of tensors and operators, with edges and derived work."""

    subgraphs: list[Subgraph]
    description: str = ""
    version: int = 3
    source: bytes | None = field(default=None, repr=False)
    _sha256: str | None = field(default=None, repr=False)

    # -- structure -------------------------------------------------------------------------
    @property
    def main(self) -> Subgraph:
        return self.subgraphs[0]

    @property
    def ops(self) -> list[Op]:
        return [op for sg in self.subgraphs for op in sg.ops]

    def tensor(self, op: Op, index: int) -> Tensor:
        return self.subgraphs[op.subgraph].tensors[index]

    def edges(self) -> list[tuple[int, int, int]]:
        """(producer op, consumer op, tensor index) for every tensor passed between two ops."""
        out: list[tuple[int, int, int]] = []
        for sg in self.subgraphs:
            producer: dict[int, int] = {}
            for op in sg.ops:
                for t in op.outputs:
                    producer[t] = op.index
            for op in sg.ops:
                for t in op.inputs:
                    src = producer.get(t)
                    if src is not None:
                        out.append((src, op.index, t))
        return out

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            if self.source is None:
                raise ReaderError("graph has neither source bytes nor a recorded sha256")
            self._sha256 = hashlib.sha256(self.source).hexdigest()
        return self._sha256

    # -- summary ---------------------------------------------------------------------------
    @property
    def summary(self) -> ModelSummary:
        ops = self.ops
        main = self.main
        constants: dict[tuple[int, int], Tensor] = {}
        params = 0
        for op in ops:
            params += op.params
            tensors = self.subgraphs[op.subgraph].tensors
            for t in op.inputs:
                if t >= 0 and tensors[t].is_constant:
                    constants[(op.subgraph, t)] = tensors[t]
        io = lambda idx: [
            {
                "name": main.tensors[i].name,
                "shape": list(main.tensors[i].shape_signature or main.tensors[i].shape),
                "dtype": main.tensors[i].dtype,
            }
            for i in idx
        ]
        return ModelSummary(
            num_ops=len(ops),
            op_counts=dict(Counter(op.op_type for op in ops)),
            macs=sum(op.macs for op in ops),
            elem_ops=sum(op.elem_ops for op in ops),
            params=params,
            weight_bytes=sum(t.nbytes for t in constants.values()),
            activation_bytes=sum(op.output_bytes for op in ops),
            precision=classify_precision(self),
            num_subgraphs=len(self.subgraphs),
            inputs=io(main.inputs),
            outputs=io(main.outputs),
            custom_ops=sorted({op.op_type for op in ops if op.is_custom}),
            dynamic=any(main.tensors[i].is_dynamic for i in main.inputs),
        )

    # -- views for other stages -----------------------------------------------------------
    def layer_works(self) -> list[LayerWork]:
        """One hardware work descriptor per operator of the main subgraph."""
        main = self.main
        out = []
        for op in main.ops:
            shape = main.tensors[op.outputs[0]].shape if op.outputs and op.outputs[0] >= 0 else ()
            out.append(
                LayerWork(
                    name=op.label,
                    op_kind=op.kind,
                    macs=op.macs,
                    elem_ops=op.elem_ops,
                    weight_elems=op.weight_elems,
                    input_elems=op.input_elems,
                    output_elems=op.output_elems,
                    output_shape=shape,
                    kernel_hw=op.kernel_hw,
                    in_channels=op.in_channels,
                    out_channels=op.out_channels,
                    reduction=op.macs // op.output_elems if op.output_elems and op.macs else 0,
                )
            )
        return out

    def report(self) -> dict[str, Any]:
        """The ``inspect`` report: model summary (with sha256 and size) and per-layer rows."""
        summary = self.summary.to_dict()
        if self.source is not None or self._sha256 is not None:
            summary["sha256"] = self.sha256
        if self.source is not None:
            summary["file_bytes"] = len(self.source)
        return {"summary": summary, "layers": self.layers()}

    def layers(self) -> list[dict[str, Any]]:
        """Per-operator rows for reports (``inspect``)."""
        rows = []
        for op in self.ops:
            tensors = self.subgraphs[op.subgraph].tensors
            rows.append(
                {
                    "index": op.index,
                    "subgraph": op.subgraph,
                    "op": op.op_type,
                    "custom": op.is_custom,
                    "kind": op.kind.value,
                    "inputs": [
                        list(tensors[t].shape)
                        for t in op.inputs
                        if t >= 0 and not tensors[t].is_constant
                    ],
                    "outputs": [list(tensors[t].shape) for t in op.outputs if t >= 0],
                    "dtype": tensors[op.outputs[0]].dtype
                    if op.outputs and op.outputs[0] >= 0
                    else None,
                    "macs": op.macs,
                    "params": op.params,
                    "weight_bytes": op.weight_bytes,
                    "input_bytes": op.input_bytes,
                    "output_bytes": op.output_bytes,
                    "options": op.options,
                }
            )
        return rows

    # -- compact serialisation ------------------------------------------------------------
    def to_dict(self, *, names: bool = False) -> dict[str, Any]:
        """A compact JSON-able form; per-channel quantisation keeps its length and mean scale."""

        def tensor_row(t: Tensor, io: frozenset[int]) -> list[Any]:
            q = None
            if t.quant is not None:
                n = len(t.quant.scale)
                zp = t.quant.zero_point
                q = [
                    float(t.quant.scale.mean()) if n else 0.0,
                    int(zp[0]) if len(zp) else 0,
                    n,
                    t.quant.axis,
                ]
            row = [
                list(t.shape),
                list(t.shape_signature) if t.shape_signature != t.shape else None,
                t.dtype,
                int(t.is_constant),
                q,
            ]
            if names or t.index in io:  # I/O names are part of the summary
                row.append(t.name)
            return row

        return {
            "format": 1,
            "sha256": self._sha256 if self.source is None else self.sha256,
            "subgraphs": [
                {
                    "name": sg.name,
                    "inputs": list(sg.inputs),
                    "outputs": list(sg.outputs),
                    "tensors": [
                        tensor_row(t, frozenset((*sg.inputs, *sg.outputs))) for t in sg.tensors
                    ],
                    "ops": [
                        [
                            op.op_type,
                            int(op.is_custom),
                            list(op.inputs),
                            list(op.outputs),
                            op.options,
                        ]
                        for op in sg.ops
                    ],
                }
                for sg in self.subgraphs
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpGraph:
        """Rebuild a graph from :meth:`to_dict`; derived work is recomputed from the shapes."""
        if not isinstance(data, dict) or data.get("format") != 1:
            raise ReaderError(
                f"not a compact OpGraph (format 1): got keys {sorted(data)[:5] if isinstance(data, dict) else type(data).__name__}"
            )
        try:
            subgraphs = []
            for si, sg in enumerate(data["subgraphs"]):
                tensors = []
                for ti, row in enumerate(sg["tensors"]):
                    shape = tuple(row[0])
                    q = row[4]
                    quant = None
                    if q is not None:
                        n = max(int(q[2]), 1)
                        quant = Quantization(
                            _repeated(float(q[0]), n, np.float32),
                            _repeated(int(q[1]), n, np.int64),
                            int(q[3]),
                        )
                    tensors.append(
                        Tensor(
                            ti,
                            row[5] if len(row) > 5 else "",
                            shape,
                            tuple(row[1]) if row[1] is not None else shape,
                            row[2],
                            bool(row[3]),
                            quant,
                        )
                    )
                ops = [
                    Op(0, si, pi, o[0], bool(o[1]), tuple(o[2]), tuple(o[3]), dict(o[4]))
                    for pi, o in enumerate(sg["ops"])
                ]
                subgraphs.append(
                    Subgraph(
                        si, sg["name"], tensors, ops, tuple(sg["inputs"]), tuple(sg["outputs"])
                    )
                )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ReaderError(f"malformed compact OpGraph: {exc!r}") from exc
        graph = cls(subgraphs, _sha256=data.get("sha256"))
        finalize(graph)
        return graph


def derive_work(op: Op, tensors: list[Tensor]) -> None:
    """Fill an operator's derived fields (kind, MACs, bytes, params, kernel) from its tensors."""
    cls = opwork.op_class(op.op_type)
    op.kind = cls.kind
    in_shapes = []
    constant = []
    weight_b = in_b = weight_e = in_e = params = 0
    bias_pos = _MAC_BIAS_INPUT.get(op.op_type, -1)
    for pos, t in enumerate(op.inputs):
        if t < 0:
            in_shapes.append(())
            constant.append(False)
            continue
        tensor = tensors[t]
        in_shapes.append(tensor.shape)
        constant.append(tensor.is_constant)
        n = tensor.num_elements
        if tensor.is_constant:
            weight_b += tensor.nbytes
            weight_e += n
            if tensor.dtype in PARAM_DTYPES or pos == bias_pos:
                params += n
        else:
            in_b += tensor.nbytes
            in_e += n
    out_shapes = [tensors[t].shape for t in op.outputs if t >= 0]
    op.macs = opwork.macs(op.op_type, in_shapes, out_shapes, op.options, constant)
    op.elem_ops = opwork.elem_ops(op.op_type, in_shapes, out_shapes, op.options)
    op.params = params
    op.weight_bytes = weight_b
    op.weight_elems = weight_e
    op.input_bytes = in_b
    op.input_elems = in_e
    op.output_bytes = sum(tensors[t].nbytes for t in op.outputs if t >= 0)
    op.output_elems = sum(tensors[t].num_elements for t in op.outputs if t >= 0)
    w_pos = opwork.WEIGHT_INPUT.get(op.op_type)
    if w_pos is not None and len(in_shapes) > w_pos:
        w = in_shapes[w_pos]
        if len(w) == 4:  # [Cout|1, KH, KW, Cin|Cout]
            op.kernel_hw = (w[1], w[2])
            op.out_channels = w[3] if op.kind is OpKind.DEPTHWISE else w[0]
            op.in_channels = w[3]
        elif len(w) == 2:  # FC [units, K]
            op.out_channels, op.in_channels = w[0], w[1]
    elif out_shapes and out_shapes[0]:
        op.out_channels = out_shapes[0][-1]
        op.in_channels = in_shapes[0][-1] if in_shapes and in_shapes[0] else 0


def finalize(graph: OpGraph) -> None:
    """Number ops across subgraphs, check the graph is acyclic, and derive every op's work."""
    index = 0
    for sg in graph.subgraphs:
        n_tensors = len(sg.tensors)
        for t in (*sg.inputs, *sg.outputs):
            if not 0 <= t < n_tensors:
                raise ReaderError(
                    f"subgraph {sg.index} input/output tensor {t} out of range 0..{n_tensors - 1}"
                )
        for op in sg.ops:
            for t in (*op.inputs, *op.outputs):
                if t >= n_tensors or t < -1:
                    raise ReaderError(
                        f"operator {op.position} ({op.op_type}) of subgraph {sg.index} names tensor {t}; "
                        f"the subgraph has {n_tensors}"
                    )
            op.index = index
            index += 1
        _check_acyclic(sg)
        for op in sg.ops:
            derive_work(op, sg.tensors)


def _check_acyclic(sg: Subgraph) -> None:
    producer: dict[int, int] = {}
    for pos, op in enumerate(sg.ops):
        for t in op.outputs:
            if t < 0:
                continue
            if t in producer:
                raise ReaderError(
                    f"tensor {t} of subgraph {sg.index} is written by operators {producer[t]} and {pos}"
                )
            producer[t] = pos
    # Kahn's algorithm over producer -> consumer edges; anything left over sits on a cycle.
    indegree = [0] * len(sg.ops)
    consumers: list[list[int]] = [[] for _ in sg.ops]
    for pos, op in enumerate(sg.ops):
        for t in set(op.inputs):
            src = producer.get(t)
            if src is not None:
                if src == pos:
                    raise ReaderError(
                        f"operator {pos} of subgraph {sg.index} consumes its own output tensor {t}"
                    )
                indegree[pos] += 1
                consumers[src].append(pos)
    ready = [i for i, d in enumerate(indegree) if d == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for nxt in consumers[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if seen != len(sg.ops):
        raise ReaderError(f"subgraph {sg.index} has a cycle among {len(sg.ops) - seen} operators")


def classify_precision(graph: OpGraph) -> str:
    """fp32 | fp16 (fp16 weights) | int8 (full integer) | dynamic_int8 | int16x8 | mixed.

    Decided by the activation and weight types seen by the MAC operators; a weight that reaches
    a MAC op through DEQUANTIZE of a constant counts with the constant's type.
    """
    pairs: set[tuple[str, str]] = set()
    for sg in graph.subgraphs:
        tensors = sg.tensors
        dequant_src: dict[int, str] = {}
        for op in sg.ops:
            if op.op_type == "DEQUANTIZE" and op.inputs and op.inputs[0] >= 0:
                src = tensors[op.inputs[0]]
                if src.is_constant:
                    dequant_src[op.outputs[0]] = src.dtype
        for op in sg.ops:
            if op.kind not in MAC_KINDS or len(op.inputs) < 2:
                continue
            act_pos = 2 if op.op_type in ("TRANSPOSE_CONV", "CONV_3D_TRANSPOSE") else 0
            w_pos = 1
            if act_pos >= len(op.inputs) or op.inputs[act_pos] < 0 or op.inputs[w_pos] < 0:
                continue
            act = tensors[op.inputs[act_pos]].dtype
            w_idx = op.inputs[w_pos]
            w = dequant_src.get(w_idx, tensors[w_idx].dtype)
            pairs.add((act, w))
    if not pairs:  # no MAC op: judge by the activations alone
        acts = {t.dtype for sg in graph.subgraphs for t in sg.tensors if not t.is_constant}
        if acts <= FLOAT_DTYPES:
            return "fp32"
        if acts & {"int8", "uint8"} and not acts & FLOAT_DTYPES:
            return "int8"
        return "mixed"
    acts = {a for a, _ in pairs}
    weights = {w for _, w in pairs}
    int_weights = {"int8", "uint8", "int4"}
    if acts <= {"int8", "uint8"} and weights <= int_weights:
        return "int8"
    if acts == {"int16"} and weights <= int_weights:
        return "int16x8"
    if acts == {"float32"}:
        # Converters leave small weights in float (dynamic range skips tensors < 1024 elements),
        # so one quantised weight type alongside float ones names the scheme.
        if weights == {"float32"}:
            return "fp32"
        if weights <= {"float32", "float16"}:
            return "fp16"
        if weights <= {"float32"} | int_weights:
            return "dynamic_int8"
    return "mixed"
