"""Batched shortest paths from snapped origins: the edges each origin reaches within a budget, the
nearest origin of every node.  ``scipy.sparse.csgraph.dijkstra`` over many sources at once, with a
time limit, in chunks so that memory stays bounded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from geo import settings
from geo.errors import InputDataError
from geo.network.graph import CostGraph
from geo.network.snapping import Snapped

logger = logging.getLogger(__name__)

__all__ = ["NearestOrigin", "ReachSets", "nearest_origins", "reach_sets"]

# ------------------------------------------------------------------ shortest paths


def _augmented(graph: CostGraph, snapped: Snapped, origins: np.ndarray) -> tuple[sparse.csr_array, np.ndarray]:
    """The routing matrix with one virtual source node per origin in ``origins``.

    Returns the (n + k, n + k) matrix and the virtual node index of each origin.
    """
    net = graph.network
    n = net.n_nodes
    k = origins.size
    e = snapped.edge[origins]
    pos = snapped.pos_m[origins]
    access_s = snapped.access_m[origins] * graph.access_s_per_m
    virtual = n + np.arange(k)
    to_v = access_s + (net.edge_length_m[e] - pos) * graph.fwd_s_per_m[e]
    to_u = access_s + pos * graph.bwd_s_per_m[e]
    # Virtual nodes only get rows (out-arcs), appended after the network's rows, so
    # the augmented matrix is the network's CSR arrays with k rows added: no re-sort.
    head = np.stack([net.edge_v[e], net.edge_u[e]], axis=1)
    cost = np.stack([to_v, to_u], axis=1)
    ok = np.isfinite(cost)
    # On a loop edge (u == v) both arcs lead to one node: keep the cheaper, since
    # duplicate entries of a sparse row would be summed.
    loop = head[:, 0] == head[:, 1]
    ok[loop, 0] &= cost[loop, 0] <= cost[loop, 1]
    ok[loop, 1] &= ~ok[loop, 0]
    # Arc costs of exactly zero would vanish from a sparse matrix: an origin lying on
    # a node is given a cost of a microsecond instead.
    cost = np.maximum(cost, 1e-6)
    # Column indices ascending within each row, as in the network's rows, so that
    # the matrix is canonical and Dijkstra need not sort it on every call.
    swap = head[:, 0] > head[:, 1]
    head[swap] = head[swap][:, ::-1]
    cost[swap] = cost[swap][:, ::-1]
    ok[swap] = ok[swap][:, ::-1]
    base = graph.csr
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(ok.sum(axis=1))])
    indices = np.concatenate([base.indices, head[ok].astype(base.indices.dtype)])
    data = np.concatenate([base.data, cost[ok]])
    matrix = sparse.csr_array((data, indices, indptr.astype(base.indptr.dtype)), shape=(n + k, n + k))
    matrix.has_sorted_indices = bool(base.has_sorted_indices)
    return matrix, virtual


def _check_budget(max_time_s: float) -> None:
    limit = settings.MAX_BUDGET_MIN * 60.0
    if not (np.isfinite(max_time_s) and 0 < max_time_s <= limit):
        raise InputDataError(
            f"步行时间阈值 max_time_s={max_time_s} 无效，应在 (0, {limit:.0f}] 秒之间 "
            f"(time budget must be in (0, {limit:.0f}] s)"
        )


@dataclass(frozen=True)
class ReachSets:
    """Every node each origin reaches within the budget, with its travel time.

    Attributes
    ----------
    origin
        int32 (r,): index of the origin (into the snapped points).
    node
        int32 (r,): node index.
    time_s
        float64 (r,): travel time from the origin to the node (seconds).
    n_origins, n_nodes
        Shape of the dense equivalent.
    max_time_s
        The budget.
    """

    origin: np.ndarray
    node: np.ndarray
    time_s: np.ndarray
    n_origins: int
    n_nodes: int
    max_time_s: float

    def to_csr(self) -> sparse.csr_array:
        """(n_origins, n_nodes) sparse matrix of times; a time of 0 is stored as 1e-9."""
        return sparse.csr_array(
            (np.maximum(self.time_s, 1e-9), (self.origin, self.node)), shape=(self.n_origins, self.n_nodes)
        )


def reach_sets(
    graph: CostGraph,
    snapped: Snapped,
    *,
    max_time_s: float,
    chunk_bytes: int = settings.DIJKSTRA_CHUNK_BYTES,
) -> ReachSets:
    """Nodes reached from every snapped origin within ``max_time_s`` seconds.

    One batched C-level Dijkstra per chunk of origins (sized so the dense distance
    block stays under ``chunk_bytes``); origins that did not snap reach nothing.

    Parameters
    ----------
    graph
        Routing graph.
    snapped
        Origins from :func:`snap_points`.
    max_time_s
        Budget in seconds (0 < budget <= ``MAX_BUDGET_MIN`` minutes).
    chunk_bytes
        Memory bound of one Dijkstra block.

    Returns
    -------
    ReachSets

    Raises
    ------
    InputDataError
        Budget not finite or out of range.
    """
    _check_budget(max_time_s)
    n = graph.network.n_nodes
    origins = np.flatnonzero(snapped.ok)
    matrix, virtual = _augmented(graph, snapped, origins)
    width = n + origins.size
    chunk = max(settings.DIJKSTRA_MIN_CHUNK if chunk_bytes >= 8 * width else 1, int(chunk_bytes // (8 * width)))
    parts_o, parts_n, parts_t = [], [], []
    for start in range(0, origins.size, chunk):
        block = csgraph.dijkstra(matrix, directed=True, indices=virtual[start : start + chunk], limit=max_time_s)
        # One pass over the dense block: flat indices of the reached entries.
        flat = np.flatnonzero(block < np.inf)
        rows, cols = np.divmod(flat, width)
        real = cols < n  # drop the virtual nodes' own columns
        parts_o.append(origins[start + rows[real]].astype(np.int32))
        parts_n.append(cols[real].astype(np.int32))
        parts_t.append(block.ravel()[flat[real]])
    if parts_o:
        return ReachSets(
            origin=np.concatenate(parts_o),
            node=np.concatenate(parts_n),
            time_s=np.concatenate(parts_t),
            n_origins=len(snapped),
            n_nodes=n,
            max_time_s=max_time_s,
        )
    empty = np.zeros(0, dtype=np.int32)
    return ReachSets(empty, empty, np.zeros(0), len(snapped), n, max_time_s)


@dataclass(frozen=True)
class NearestOrigin:
    """For every node, the nearest origin and the time to it.

    Attributes
    ----------
    time_s
        float64 (n,): time from the nearest origin (``inf`` beyond the budget).
    origin
        int64 (n,): index of that origin (into the snapped points), -1 if none.
    """

    time_s: np.ndarray
    origin: np.ndarray


def nearest_origins(graph: CostGraph, snapped: Snapped, *, max_time_s: float) -> NearestOrigin:
    """One multi-source Dijkstra: every node's nearest origin within ``max_time_s``.

    Raises
    ------
    InputDataError
        Budget not finite or out of range.
    """
    _check_budget(max_time_s)
    n = graph.network.n_nodes
    origins = np.flatnonzero(snapped.ok)
    if origins.size == 0:
        return NearestOrigin(np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
    matrix, virtual = _augmented(graph, snapped, origins)
    dist, _, src = csgraph.dijkstra(
        matrix, directed=True, indices=virtual, limit=max_time_s, min_only=True, return_predecessors=True
    )
    src = src[:n]
    origin = np.where(src >= 0, origins[np.clip(src - n, 0, None)], -1)
    return NearestOrigin(time_s=dist[:n], origin=origin)
