"""Times from points (residents) to facilities on the network, for many groups at once.

The engine under coverage, gap maps and placement.  For one group of facilities (a
function such as 病有所医, or a finer type such as 幼儿园) one multi-source Dijkstra
over the network (:func:`geo.network.reach.nearest_origins`, facilities snapped onto
their edges) gives every node its nearest facility; a demand point, snapped onto
its own edge, then reaches it through either end of that edge::

    t(point) = min( access + pos * s_back + T[u],  access + (len - pos) * s_fwd + T[v],
                    direct walk along the shared edge to a facility on it,
                    straight walk to a facility nearer than the street )

with the access leg between the point and the street walked at the profile's access
speed.  The last term is for a home in the same compound as a facility: it walks
across the yard, not out to the street and back in.

No Python loop over points, facilities or nodes: one C-level Dijkstra per group and
numpy on arrays.

The time is from the resident *to* the facility.  Walking is symmetric; for
profiles with one-way streets (cycling) the Dijkstra runs on the reversed graph.

Times are seconds; ``inf`` beyond the budget or for points that did not snap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from geo import settings
from geo.errors import InputDataError
from geo.network.graph import CostGraph
from geo.network.reach import nearest_origins
from geo.network.snapping import Snapped

logger = logging.getLogger(__name__)

__all__ = [
    "NearestFacilities",
    "OriginTimes",
    "demand_times_from_reach",
    "nearest_facilities",
    "reversed_graph",
    "take_snapped",
]


def reversed_graph(graph: CostGraph) -> CostGraph:
    """The graph with every arc reversed (the same graph when every street is two-way).

    Dijkstra from facilities on the reversed graph gives times *to* them.
    """
    fwd, bwd = graph.fwd_s_per_m, graph.bwd_s_per_m
    if np.array_equal(fwd, bwd):
        return graph
    cache = graph.network._graphs
    key = ("reversed", repr(graph.profile))
    if key not in cache:
        csr = sparse.csr_array(graph.csr.T)
        csr.sort_indices()
        cache[key] = replace(graph, csr=csr, fwd_s_per_m=bwd, bwd_s_per_m=fwd)
    return cache[key]


def take_snapped(snapped: Snapped, index: np.ndarray) -> Snapped:
    """The snapped points at ``index``."""
    return Snapped(
        xy=snapped.xy[index],
        edge=snapped.edge[index],
        pos_m=snapped.pos_m[index],
        access_m=snapped.access_m[index],
        ok=snapped.ok[index],
    )


def _leg_costs(graph: CostGraph, demand: Snapped) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per snapped demand point: access time and the times to its edge's u and v ends."""
    net = graph.network
    e = np.where(demand.ok, demand.edge, 0)
    access = np.where(demand.ok, demand.access_m * graph.access_s_per_m, np.inf)
    to_u = demand.pos_m * graph.bwd_s_per_m[e]
    to_v = (net.edge_length_m[e] - demand.pos_m) * graph.fwd_s_per_m[e]
    return access, to_u, to_v


def _same_edge(
    graph: CostGraph, demand: Snapped, facilities: Snapped, fac_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demand, facility, time) of walks along an edge both lie on, facility index into ``facilities``."""
    fac = fac_index[facilities.ok[fac_index]]
    dem = np.flatnonzero(demand.ok)
    if fac.size == 0 or dem.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    on_fac_edge = np.isin(demand.edge[dem], facilities.edge[fac])
    if not on_fac_edge.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    left = pd.DataFrame({"d": dem[on_fac_edge], "edge": demand.edge[dem[on_fac_edge]]})
    right = pd.DataFrame({"f": fac, "edge": facilities.edge[fac]})
    pairs = left.merge(right, on="edge")
    d = pairs["d"].to_numpy(np.int64)
    f = pairs["f"].to_numpy(np.int64)
    e = pairs["edge"].to_numpy(np.int64)
    gap_m = facilities.pos_m[f] - demand.pos_m[d]
    along = np.where(gap_m >= 0, gap_m * graph.fwd_s_per_m[e], -gap_m * graph.bwd_s_per_m[e])
    time = (demand.access_m[d] + facilities.access_m[f]) * graph.access_s_per_m + along
    return d, f, time


def _off_street(
    graph: CostGraph, demand: Snapped, facilities: Snapped, fac_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demand, facility, time) of straight walks: a point nearer a facility than its street.

    A home in the same compound as a clinic walks across the yard, not out to the
    street and back in: where the straight distance to a facility is shorter than the
    point's own access leg (capped at ``MAX_SNAP_DIST_M``), it is walked directly.
    """
    reach_m = np.minimum(np.where(np.isfinite(demand.access_m), demand.access_m, 0.0), settings.MAX_SNAP_DIST_M)
    empty = np.zeros(0, dtype=np.int64)
    if fac_index.size == 0 or not (reach_m > 0).any():
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(shapely.points(facilities.xy[fac_index]))
    d, j = tree.query(shapely.points(demand.xy), predicate="dwithin", distance=reach_m)
    if d.size == 0:
        return empty, empty, np.zeros(0)
    f = fac_index[j]
    dist_m = np.hypot(*(demand.xy[d] - facilities.xy[f]).T)
    return d.astype(np.int64), f.astype(np.int64), dist_m * graph.access_s_per_m


def _direct(
    graph: CostGraph, demand: Snapped, facilities: Snapped, fac_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walks that need no node: along a shared edge, or straight across to a nearer facility."""
    d1, f1, t1 = _same_edge(graph, demand, facilities, fac_index)
    d2, f2, t2 = _off_street(graph, demand, facilities, fac_index)
    return np.concatenate([d1, d2]), np.concatenate([f1, f2]), np.concatenate([t1, t2])


@dataclass(frozen=True)
class NearestFacilities:
    """Time from every demand point to the nearest facility of every group.

    Attributes
    ----------
    groups
        Group labels (function or facility-type keys), one column each.
    time_s
        float64 (n_demand, n_groups): seconds to the nearest facility of the group,
        ``inf`` beyond ``max_time_s``, for points that did not snap, or for a group
        without a snapped facility.
    facility
        int64 (n_demand, n_groups): index (into the facilities given) of that facility,
        -1 where the time is ``inf``.
    max_time_s
        The search budget: times above it are not computed.
    """

    groups: tuple[str, ...]
    time_s: np.ndarray
    facility: np.ndarray
    max_time_s: float

    def column(self, group: str) -> int:
        """Column of a group; :class:`InputDataError` when it was not computed."""
        try:
            return self.groups.index(group)
        except ValueError:
            raise InputDataError(
                f"未计算设施组 {group!r} (group not computed; have {', '.join(self.groups)})"
            ) from None


def nearest_facilities(
    graph: CostGraph,
    demand: Snapped,
    facilities: Snapped,
    facility_group: Sequence[str] | np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    max_time_s: float,
) -> NearestFacilities:
    """Time from every demand point to the nearest facility of each group.

    Parameters
    ----------
    graph
        Routing graph of the travel profile.
    demand
        Demand points (residents) from :func:`geo.network.snapping.snap_points`.
    facilities
        Facilities from :func:`geo.network.snapping.snap_points`.
    facility_group
        Group label of each facility (its function, or its type).
    groups
        Groups to compute, in this order (default: the distinct labels, sorted); a
        group without facilities gets ``inf`` everywhere.
    max_time_s
        Search budget in seconds (the largest budget any later question asks).

    Returns
    -------
    NearestFacilities
    """
    labels = np.asarray(facility_group, dtype=object)
    if labels.shape[0] != len(facilities):
        raise InputDataError(
            f"设施分组数 {labels.shape[0]} 与设施数 {len(facilities)} 不一致 (one group label per facility)"
        )
    groups = tuple(sorted({str(g) for g in labels})) if groups is None else tuple(groups)
    routing = reversed_graph(graph)
    net = graph.network
    access, to_u, to_v = _leg_costs(graph, demand)
    u = net.edge_u[np.where(demand.ok, demand.edge, 0)]
    v = net.edge_v[np.where(demand.ok, demand.edge, 0)]
    k = len(demand)
    time = np.full((k, len(groups)), np.inf)
    which = np.full((k, len(groups)), -1, dtype=np.int64)
    for j, group in enumerate(groups):
        fac_index = np.flatnonzero(labels == group)
        if fac_index.size == 0 or not facilities.ok[fac_index].any():
            continue
        node = nearest_origins(routing, take_snapped(facilities, fac_index), max_time_s=max_time_s)
        via_u = to_u + node.time_s[u]
        via_v = to_v + node.time_s[v]
        best = np.minimum(via_u, via_v) + access
        src = np.where(via_u <= via_v, node.origin[u], node.origin[v])
        d, f, direct = _direct(graph, demand, facilities, fac_index)
        if d.size:
            order = np.lexsort((direct, d))
            first = np.ones(order.size, dtype=bool)
            first[1:] = d[order][1:] != d[order][:-1]
            d, f, direct = d[order][first], f[order][first], direct[order][first]
            better = direct < best[d]
            best[d[better]] = direct[better]
            src[d[better]] = -2 - f[better]  # marked: already a facility index
        within = best <= max_time_s
        time[within, j] = best[within]
        chosen = np.where(src <= -2, -2 - src, fac_index[np.clip(src, 0, None)])
        which[within, j] = chosen[within]
    return NearestFacilities(groups=groups, time_s=time, facility=which, max_time_s=float(max_time_s))


@dataclass(frozen=True)
class OriginTimes:
    """Sparse (origin, demand point, time) triples: who each origin reaches within a budget."""

    origin: np.ndarray
    demand: np.ndarray
    time_s: np.ndarray


def demand_times_from_reach(graph: CostGraph, reach, demand: Snapped, origins: Snapped) -> OriginTimes:
    """Turn node reach sets of origins into times to demand points (both ends of each point's edge).

    ``reach`` is :class:`geo.network.reach.ReachSets` computed from ``origins`` on the
    reversed graph (:func:`reversed_graph`); the result keeps, per (origin, demand point),
    the fastest way within ``reach.max_time_s``.
    """
    net = graph.network
    access, to_u, to_v = _leg_costs(graph, demand)
    ok = np.flatnonzero(demand.ok)
    # node -> demand points touching it (as u or as v), with the leg cost from the point.
    node = np.concatenate([net.edge_u[demand.edge[ok]], net.edge_v[demand.edge[ok]]])
    dem = np.concatenate([ok, ok])
    leg = np.concatenate([to_u[ok], to_v[ok]]) + np.concatenate([access[ok], access[ok]])
    keep = np.isfinite(leg)
    node, dem, leg = node[keep], dem[keep], leg[keep]
    order = np.argsort(node, kind="stable")
    node, dem, leg = node[order], dem[order], leg[order]
    start = np.searchsorted(node, np.arange(net.n_nodes))
    count = np.searchsorted(node, np.arange(net.n_nodes), side="right") - start
    # Expand every reached (origin, node) pair over the points touching the node.
    n_per = count[reach.node]
    pair = np.repeat(np.arange(reach.node.size), n_per)
    offset = np.arange(pair.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    slot = start[reach.node[pair]] + offset
    o = reach.origin[pair].astype(np.int64)
    d = dem[slot]
    t = reach.time_s[pair] + leg[slot]
    sd, sf, st = _direct(graph, demand, origins, np.arange(len(origins)))
    o, d, t = np.concatenate([o, sf]), np.concatenate([d, sd]), np.concatenate([t, st])
    within = t <= reach.max_time_s
    o, d, t = o[within], d[within], t[within]
    order = np.lexsort((t, d, o))
    o, d, t = o[order], d[order], t[order]
    first = np.ones(o.size, dtype=bool)
    first[1:] = (o[1:] != o[:-1]) | (d[1:] != d[:-1])
    return OriginTimes(origin=o[first], demand=d[first], time_s=t[first])
