"""The performance GNN: message passing over the operator graph, a readout, one multi-task head.

GraphSAGE-mean as in PerfSAGE (arXiv 2301.10999: 2 layers, 128 dims, op-type embedding, mean
readout), with GIN and GAT convolutions, a BRP-NAS-style global node (Dudziak et al. 2020) and a
sum readout as alternatives. The head predicts log(value) for every target x metric at once.

The ``lse`` readout is additive: every op predicts its own log-contribution to each metric and a
graph's value is their log-sum-exp, i.e. the sum of per-op contributions (latency, energy and
storage add up over layers; for a peak such as memory the log-sum-exp is a soft maximum), times a
per-graph correction from the pooled states.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.nn import GATConv, GINEConv, SAGEConv
from torch_geometric.utils import scatter

from predictor.features import EDGE_DIM, GRAPH_DIM, NODE_DIM, OP_TYPES, FeatureBatch

CONVS = ("sage", "gin", "gat")
READOUTS = ("mean", "sum", "mean+sum", "lse")
_LOG_LSE_NODES = math.log(32.0)  # typical op count: per-op contributions start at 1/32


class PerfGNN(nn.Module):
    """Predicts ``[G, n_outputs]`` log-space values from a :class:`FeatureBatch`'s tensors.

    Args:
        n_outputs: Targets x metrics.
        conv: ``"sage"`` (mean aggregation), ``"gin"`` (GINE, uses edge features) or ``"gat"``.
        hidden: Width of node states (128 in PerfSAGE).
        layers: Message-passing layers (2 in PerfSAGE).
        readout: ``"mean"``, ``"sum"`` or ``"mean+sum"`` pooling of node states per graph, or
            ``"lse"``: per-op log-contributions summed per graph (see the module docstring).
        global_node: Add a virtual node joined to every op (BRP-NAS), updated each layer.
        embed_dim: Width of the learned op-type embedding.
        dropout: Dropout on node states during training.
        bidirectional: Also pass messages from consumers to producers (a second convolution per
            layer over the reversed edges), so an op sees what reads its output: the fusion and
            cascading that set an NPU layer's cost depend on it.
    """

    def __init__(
        self,
        n_outputs: int,
        conv: str = "sage",
        hidden: int = 128,
        layers: int = 2,
        readout: str = "mean",
        global_node: bool = False,
        embed_dim: int = 16,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        if conv not in CONVS:
            raise ValueError(f"conv must be one of {CONVS}, got {conv!r}")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.config = {
            "n_outputs": n_outputs,
            "conv": conv,
            "hidden": hidden,
            "layers": layers,
            "readout": readout,
            "global_node": global_node,
            "embed_dim": embed_dim,
            "dropout": dropout,
        }
        if bidirectional:  # only then: configs of older checkpoints stay as they were
            self.config["bidirectional"] = True
        self.embed = nn.Embedding(len(OP_TYPES), embed_dim)
        self.inp = nn.Linear(NODE_DIM + embed_dim, hidden)
        self.convs = nn.ModuleList(_conv(conv, hidden) for _ in range(layers))
        self.rev_convs = (
            nn.ModuleList(_conv(conv, hidden) for _ in range(layers)) if bidirectional else None
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.global_mlps = (
            nn.ModuleList(
                nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU()) for _ in range(layers)
            )
            if global_node
            else None
        )
        pooled = hidden * (2 if readout == "mean+sum" else 1)
        self.graph_in = nn.Linear(GRAPH_DIM, hidden)
        self.head = nn.Sequential(
            nn.Linear(pooled + hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs)
        )
        self.node_head = (
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))
            if readout == "lse"
            else None
        )
        self.dropout = nn.Dropout(dropout)
        # Output = head + an affine map of the whole-graph features: the head learns a residual
        # on top of a log-linear model of MACs, bytes and the analytic prior.
        self.linear = nn.Linear(GRAPH_DIM, n_outputs)
        # Standardisation fitted on the training set (buffers, so they travel in the weights).
        for name, dim in (("x", NODE_DIM), ("e", EDGE_DIM), ("g", GRAPH_DIM), ("y", n_outputs)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim))
            self.register_buffer(f"{name}_std", torch.ones(dim))

    def set_scaling(self, x: Tensor, e: Tensor, g: Tensor, y: Tensor, y_mask: Tensor) -> None:
        """Fit the input/output standardisation on training tensors (``y`` in log space)."""
        for name, t in (("x", x), ("e", e), ("g", g)):
            if len(t):
                getattr(self, f"{name}_mean").copy_(t.mean(0))
                getattr(self, f"{name}_std").copy_(t.std(0, unbiased=False).clamp_min(1e-3))
        counts = y_mask.sum(0).clamp_min(1)
        mean = (y * y_mask).sum(0) / counts
        var = (((y - mean) * y_mask) ** 2).sum(0) / counts
        self.y_mean.copy_(mean)
        self.y_std.copy_(var.sqrt().clamp_min(0.05))

    def forward(
        self,
        x: Tensor,
        op_type: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor,
        batch: Tensor,
        graph_attr: Tensor,
        *,
        return_nodes: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Log-space predictions ``[G, n_outputs]`` (natural log of each metric's unit).

        With ``return_nodes`` (``lse`` readout only) also each op's log-contribution ``[N,
        n_outputs]``, in the same units: what per-op targets such as Vela's per-layer cycles train.
        """
        if return_nodes and self.config["readout"] != "lse":
            raise ValueError("per-op contributions exist only with the lse readout")
        n_graphs = graph_attr.shape[0]
        x = (x - self.x_mean) / self.x_std
        edge_attr = (edge_attr - self.e_mean) / self.e_std
        graph_attr = (graph_attr - self.g_mean) / self.g_std
        h = torch.relu(self.inp(torch.cat([x, self.embed(op_type)], dim=1)))
        g_state = torch.relu(self.graph_in(graph_attr))
        reverse = edge_index.flip(0) if self.rev_convs is not None else None
        for i, conv in enumerate(self.convs):
            if self.global_mlps is not None:
                h = h + g_state[batch]
            m = self._message(conv, h, edge_index, edge_attr)
            if self.rev_convs is not None:
                m = m + self._message(self.rev_convs[i], h, reverse, edge_attr)
            h = self.norms[i](h + self.dropout(torch.relu(m)))
            if self.global_mlps is not None:
                g_state = g_state + self.global_mlps[i](
                    scatter(h, batch, 0, dim_size=n_graphs, reduce="mean")
                )
        # The readout and heads run in float32 even under a bfloat16 autocast (forward_log's
        # ``dtype``): their outputs are log-values, which bfloat16 would round by several per cent.
        with torch.autocast("cpu", enabled=False):
            return self._readout(h.float(), g_state.float(), batch, graph_attr, return_nodes)

    def _readout(
        self, h: Tensor, g_state: Tensor, batch: Tensor, graph_attr: Tensor, return_nodes: bool
    ) -> Tensor | tuple[Tensor, Tensor]:
        n_graphs = graph_attr.shape[0]
        readout = self.config["readout"]
        if readout == "lse":
            mean = scatter(h, batch, 0, dim_size=n_graphs, reduce="mean")
            correction = self.head(torch.cat([mean, g_state], dim=1)) + self.linear(graph_attr)
            # Per-op log-contributions in standardised units -> natural-log units.
            a = self.node_head(h) * self.y_std + self.y_mean - _LOG_LSE_NODES
            peak = scatter(a, batch, 0, dim_size=n_graphs, reduce="max")
            total = scatter(torch.exp(a - peak[batch]), batch, 0, dim_size=n_graphs, reduce="sum")
            out = peak + torch.log(total) + correction * self.y_std
            return (out, a) if return_nodes else out
        if readout == "mean":
            pooled = scatter(h, batch, 0, dim_size=n_graphs, reduce="mean")
        elif readout == "sum":
            pooled = scatter(h, batch, 0, dim_size=n_graphs, reduce="sum") / 32.0
        else:
            pooled = torch.cat(
                [
                    scatter(h, batch, 0, dim_size=n_graphs, reduce="mean"),
                    scatter(h, batch, 0, dim_size=n_graphs, reduce="sum") / 32.0,
                ],
                dim=1,
            )
        out = self.head(torch.cat([pooled, g_state], dim=1)) + self.linear(graph_attr)
        return out * self.y_std + self.y_mean

    def _message(self, conv: nn.Module, h: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        if self.config["conv"] == "sage":
            return conv(h, edge_index)
        return conv(h, edge_index, edge_attr)


def _conv(kind: str, hidden: int) -> nn.Module:
    if kind == "sage":
        return SAGEConv(hidden, hidden, aggr="mean")
    if kind == "gin":
        mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        return GINEConv(mlp, edge_dim=EDGE_DIM)
    return GATConv(hidden, hidden // 4, heads=4, edge_dim=EDGE_DIM, add_self_loops=True)


def to_tensors(fb: FeatureBatch) -> dict[str, Tensor]:
    """The model's keyword inputs from a feature batch (zero-copy where numpy allows)."""
    return {
        "x": torch.from_numpy(fb.x),
        "op_type": torch.from_numpy(fb.op_type),
        "edge_index": torch.from_numpy(fb.edge_index),
        "edge_attr": torch.from_numpy(fb.edge_attr),
        "batch": torch.from_numpy(fb.batch),
        "graph_attr": torch.from_numpy(fb.graph_attr),
    }


class PerfEnsemble(nn.Module):
    """``members`` :class:`PerfGNN` of one configuration, trained from different initialisations;
    predicts the mean of their log-space outputs (the geometric mean of their values).

    Averaging independently trained members cancels part of each one's error on graphs unlike
    its training data (docs/predictor.md gives the measured gain).
    """

    def __init__(self, members: int, **config: Any) -> None:
        super().__init__()
        if not isinstance(members, int) or members < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {members!r}")
        self.members = nn.ModuleList(PerfGNN(**config) for _ in range(members))
        self.config = {**self.members[0].config, "members": members}

    def forward(
        self, *args: Tensor, return_nodes: bool = False, **kwargs: Tensor
    ) -> Tensor | tuple[Tensor, Tensor]:
        """The members' mean log-space prediction (and per-op contributions with ``return_nodes``)."""
        outs = [m(*args, return_nodes=return_nodes, **kwargs) for m in self.members]
        if return_nodes:
            return (
                torch.stack([o[0] for o in outs]).mean(0),
                torch.stack([o[1] for o in outs]).mean(0),
            )
        return torch.stack(outs).mean(0)

    def first(self, n: int) -> PerfGNN | PerfEnsemble:
        """The first ``n`` members (sharing their weights): member 0 itself for ``n`` = 1."""
        if not isinstance(n, int) or not 1 <= n <= len(self.members):
            raise ValueError(
                f"members must be an int in [1, {len(self.members)}] for this checkpoint, got {n!r}"
            )
        if n == 1:
            return self.members[0]
        if n == len(self.members):
            return self
        cut = PerfEnsemble(n, **{k: v for k, v in self.config.items() if k != "members"})
        cut.members = nn.ModuleList(self.members[:n])
        return cut.eval()


def build_model(config: dict[str, Any]) -> PerfGNN | PerfEnsemble:
    """The model a checkpoint's ``config`` describes: one GNN, or an ensemble with ``members``."""
    config = dict(config)
    members = config.pop("members", 1)
    return PerfEnsemble(members, **config) if members > 1 else PerfGNN(**config)
