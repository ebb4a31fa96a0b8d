"""The "1+10" linkage: every in-service party member linked to at least K nearby households.

Each household is linked to at most one member and the total walking time on the street
network is the least possible.  This is a capacitated (transportation) assignment:

* candidate pairs — the households each member reaches within a walking-time radius, from
  one batched Dijkstra over all members (:func:`geo.network.reach.reach_sets` on the reversed
  graph); a member with fewer than K candidates has its radius widened (doubled, up to a
  ceiling) and only those members are routed again;
* :func:`solve_linkage` — a min-cost flow (OR-Tools, cost scaling): the largest number of
  links first, the least total walking time among those; the flow is integral, and it is
  certified by the code here, not taken on the solver's word (no augmenting path left, and
  potentials giving every residual arc a non-negative reduced cost);
* :func:`greedy_linkage` — the nearest-pair greedy peer, for comparison.

Members with fewer than K links (not enough free households within the radius) and the
households left unlinked are reported in :class:`Linkage`, never dropped.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order

from geo.errors import GeoError, InputDataError
from geo.network.graph import CostGraph
from geo.network.reach import reach_sets
from geo.network.routing import demand_times_from_reach, reversed_graph, take_snapped
from geo.network.snapping import snap_points

logger = logging.getLogger(__name__)

__all__ = [
    "Linkage",
    "LinkagePairs",
    "greedy_linkage",
    "grid_codes_at",
    "linkage_by_grid",
    "linkage_pairs",
    "solve_linkage",
]

#: Households each member is linked to: "1+10" (Yongchun's in-service members, issue 20).
LINKAGE_HOUSEHOLDS_PER_MEMBER: int = 10
#: First walking-time radius of the candidate pairs (s): 10 minutes at the walking speed.
LINKAGE_RADIUS_S: float = 600.0
#: Ceiling of the widened radius (s): the 15-minute life circle.
LINKAGE_MAX_RADIUS_S: float = 900.0
#: Integer cost unit of the min-cost flow (s): walking times are rounded to the microsecond.
LINKAGE_COST_UNIT_S: float = 1e-6


class LinkageSolverError(GeoError, RuntimeError):
    """The min-cost flow was not proven optimal (solver status, or its certificate failed)."""


@dataclass(frozen=True)
class LinkagePairs:
    """Candidate (member, household) pairs with their walking time.

    Attributes
    ----------
    member, household
        int64 (p,): indices into the members and households given.
    time_s
        float64 (p,): walking time from the household to the member (seconds).
    n_members, n_households
        Sizes of the two sides.
    radius_s
        float64 (n_members,): the radius each member's candidates were searched within.
    member_ok, household_ok
        bool: snapped onto the walk network (those not snapped have no pairs).
    """

    member: np.ndarray
    household: np.ndarray
    time_s: np.ndarray
    n_members: int
    n_households: int
    radius_s: np.ndarray
    member_ok: np.ndarray
    household_ok: np.ndarray


@dataclass(frozen=True)
class Linkage:
    """An assignment of households to members.

    Attributes
    ----------
    household_member
        int64 (n_households,): the member each household is linked to, -1 if none.
    household_time_s
        float64 (n_households,): walking time to that member (``nan`` if unlinked).
    member_count
        int64 (n_members,): households linked to each member.
    k
        Households asked per member.
    total_time_s
        Sum of the walking times of all links.
    method
        ``"min-cost flow"`` (exact) or ``"greedy"``.
    optimal
        True when the assignment is certified: the most links, and the least total walking time
        of the times in whole microseconds.
    gap_bound_s
        How far ``total_time_s`` can be above the optimum of the unrounded times (s): the
        number of links times the cost unit (a microsecond); 0 for the greedy peer, which
        claims nothing.
    """

    household_member: np.ndarray
    household_time_s: np.ndarray
    member_count: np.ndarray
    k: int
    total_time_s: float
    method: str
    optimal: bool
    gap_bound_s: float = 0.0

    @property
    def n_links(self) -> int:
        """Number of households linked."""
        return int((self.household_member >= 0).sum())

    @property
    def short_members(self) -> np.ndarray:
        """Indices of members linked to fewer than ``k`` households."""
        return np.flatnonzero(self.member_count < self.k)

    @property
    def unlinked_households(self) -> np.ndarray:
        """Indices of households linked to no member."""
        return np.flatnonzero(self.household_member < 0)


def _check_k(k: int) -> None:
    if not (isinstance(k, int | np.integer) and k >= 1):
        raise InputDataError(f"每名党员联系户数 k={k!r} 无效，应为正整数 (k must be a positive integer)")


def _times(graph: CostGraph, members, households, max_time_s: float):
    reach = reach_sets(reversed_graph(graph), members, max_time_s=max_time_s)
    return demand_times_from_reach(graph, reach, households, members)


def linkage_pairs(
    graph: CostGraph,
    members: gpd.GeoSeries,
    households: gpd.GeoSeries,
    *,
    k: int = LINKAGE_HOUSEHOLDS_PER_MEMBER,
    radius_s: float = LINKAGE_RADIUS_S,
    max_radius_s: float = LINKAGE_MAX_RADIUS_S,
) -> LinkagePairs:
    """The households each member reaches on foot within a radius, widened where too few.

    Parameters
    ----------
    graph
        Routing graph (walk profile).
    members, households
        Points with a CRS (homes of the members, households or their buildings).
    k
        Households each member should be linked to.
    radius_s
        First radius in seconds of walking.
    max_radius_s
        The radius is doubled for members with fewer than ``k`` candidates, up to this (s).

    Raises
    ------
    CRSError
        Points without a CRS.
    InputDataError
        ``k`` not a positive integer, or radii out of range.
    """
    _check_k(k)
    if not (0 < radius_s <= max_radius_s):
        raise InputDataError(
            f"联系半径 radius_s={radius_s} 应大于 0 且不超过 max_radius_s={max_radius_s} "
            "(radius must be in (0, max_radius_s])"
        )
    m_snap = snap_points(graph, members)
    h_snap = snap_points(graph, households)
    n_m, n_h = len(m_snap), len(h_snap)
    radius = np.full(n_m, float(radius_s))
    found = _times(graph, m_snap, h_snap, radius_s)
    member = found.origin.astype(np.int64)
    household = found.demand.astype(np.int64)
    time_s = found.time_s
    count = np.bincount(member, minlength=n_m)
    current = float(radius_s)
    while current < max_radius_s:
        short = np.flatnonzero((count < k) & m_snap.ok)
        if short.size == 0:
            break
        current = min(2.0 * current, float(max_radius_s))
        logger.info("linkage: %d members short of %d households, radius widened to %.0f s", short.size, k, current)
        wide = _times(graph, take_snapped(m_snap, short), h_snap, current)
        # The short members' pairs are replaced by the wider search's.
        keep = ~np.isin(member, short)
        member = np.concatenate([member[keep], short[wide.origin]])
        household = np.concatenate([household[keep], wide.demand.astype(np.int64)])
        time_s = np.concatenate([time_s[keep], wide.time_s])
        radius[short] = current
        count = np.bincount(member, minlength=n_m)
    order = np.lexsort((household, member))
    logger.info("linkage: %d candidate pairs for %d members and %d households", member.size, n_m, n_h)
    return LinkagePairs(
        member=member[order],
        household=household[order],
        time_s=time_s[order],
        n_members=n_m,
        n_households=n_h,
        radius_s=radius,
        member_ok=m_snap.ok.copy(),
        household_ok=h_snap.ok.copy(),
    )


def _result(
    pairs: LinkagePairs, chosen: np.ndarray, k: int, method: str, optimal: bool, *, gap_bound_s: float = 0.0
) -> Linkage:
    member = np.full(pairs.n_households, -1, dtype=np.int64)
    time = np.full(pairs.n_households, np.nan)
    member[pairs.household[chosen]] = pairs.member[chosen]
    time[pairs.household[chosen]] = pairs.time_s[chosen]
    count = np.bincount(pairs.member[chosen], minlength=pairs.n_members).astype(np.int64)
    return Linkage(
        household_member=member,
        household_time_s=time,
        member_count=count,
        k=int(k),
        total_time_s=float(pairs.time_s[chosen].sum()),
        method=method,
        optimal=optimal,
        gap_bound_s=float(gap_bound_s),
    )


def _cost_unit_s(max_time_s: float, n_nodes: int) -> float:
    """The integer cost unit (s): a microsecond, coarser only where the times would overflow int64."""
    # OR-Tools' cost scaling multiplies costs by about the number of nodes; keep a margin of 2^4.
    return max(LINKAGE_COST_UNIT_S, max_time_s * (n_nodes + 1) / 2.0**58)


def solve_linkage(pairs: LinkagePairs, *, k: int = LINKAGE_HOUSEHOLDS_PER_MEMBER) -> Linkage:
    """The exact linkage: most links first, then the least total walking time (min-cost flow).

    A flow network: each member supplies ``k`` links, each candidate pair is an arc member ->
    household (capacity 1, cost its walking time), each household an arc to one sink
    (capacity 1).  OR-Tools' ``SimpleMinCostFlow.solve_max_flow_with_min_cost`` (cost-scaling
    push-relabel, integral) sends the largest possible flow — the most links — at the least
    cost among such flows.  The costs are whole microseconds (:data:`LINKAGE_COST_UNIT_S`), so
    the total time is the optimum of the rounded times, within ``n_links`` microseconds of the
    optimum of the unrounded ones (``gap_bound_s``).

    The solver is not taken on its word: :func:`_certify` checks that no household can be
    added by an augmenting path (max-flow) and finds potentials under which every arc of the
    residual network has a non-negative reduced cost (no cycle can lower the time), in exact
    integer arithmetic.

    Raises
    ------
    InputDataError
        ``k`` not a positive integer.
    LinkageSolverError
        The solver did not report an optimum, or its flow failed the certificate.
    """
    _check_k(k)
    if pairs.member.size == 0:
        return _result(pairs, np.zeros(0, dtype=np.int64), k, "min-cost flow", True)
    used, cost, unit, _ = _min_cost_flow(pairs, k)
    _certify(pairs, used, cost, k)
    chosen = np.flatnonzero(used)
    result = _result(pairs, chosen, k, "min-cost flow", True, gap_bound_s=chosen.size * unit)
    logger.info(
        "linkage (min-cost flow): %d links, total %.0f s (within %.3g s of the unrounded optimum), %d pairs",
        chosen.size,
        result.total_time_s,
        result.gap_bound_s,
        pairs.member.size,
    )
    return result


def _min_cost_flow(pairs: LinkagePairs, k: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """OR-Tools' max flow of least cost: the pairs used (bool), their integer costs, the unit (s)
    and the child process's peak resident memory (MB).

    Solved in a child process (``_flow_child.py``, by file path): OR-Tools and highspy cannot
    share a process (each ships its own ``libhighs.so.1``).  The arcs go through a pipe as an
    ``.npz`` (about 24 bytes per arc).
    """
    p, n_m, n_h = pairs.member.size, pairs.n_members, pairs.n_households
    unit = _cost_unit_s(float(pairs.time_s.max()), n_m + n_h + 1)
    cost = np.rint(pairs.time_s / unit).astype(np.int64)
    sink = n_m + n_h
    network = io.BytesIO()
    np.savez(
        network,
        tail=np.concatenate([pairs.member, n_m + np.arange(n_h)]).astype(np.int64),
        head=np.concatenate([n_m + pairs.household, np.full(n_h, sink)]).astype(np.int64),
        capacity=np.ones(p + n_h, dtype=np.int64),
        cost=np.concatenate([cost, np.zeros(n_h, dtype=np.int64)]),
        supply=np.concatenate([np.full(n_m, int(k)), np.zeros(n_h, dtype=np.int64), [-int(k) * n_m]]).astype(np.int64),
    )
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_flow_child.py"))],
        input=network.getvalue(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
        raise LinkageSolverError(f"联系户分配求解失败：最小费用流子进程出错 (min-cost flow child failed: {last})")
    answer = np.load(io.BytesIO(done.stdout))
    if not bool(answer["optimal"]):
        raise LinkageSolverError(f"联系户分配求解失败 (min-cost flow status {answer['status']})")
    logger.debug("linkage: min-cost flow child peak %.0f MB", float(answer["peak_mb"]))
    return answer["flow"][:p] > 0, cost, unit, float(answer["peak_mb"])


@numba.njit(cache=True, nogil=True)
def _spfa(indptr: np.ndarray, head: np.ndarray, cost: np.ndarray, n: int) -> tuple[np.ndarray, bool]:
    """Shortest distances from a zero root to every node (queue-based Bellman-Ford), int64.

    False when a node is dequeued ``n + 1`` times: a negative cycle.
    """
    dist = np.zeros(n, dtype=np.int64)
    queue = np.arange(n, dtype=np.int64)  # a ring: each node is in it at most once
    queued = np.ones(n, dtype=np.bool_)
    passes = np.zeros(n, dtype=np.int64)
    first, size = 0, n
    while size:
        v = queue[first]
        first = (first + 1) % n
        size -= 1
        queued[v] = False
        passes[v] += 1
        if passes[v] > n:
            return dist, False
        for a in range(indptr[v], indptr[v + 1]):
            w = head[a]
            d = dist[v] + cost[a]
            if d < dist[w]:
                dist[w] = d
                if not queued[w]:
                    queue[(first + size) % n] = w
                    size += 1
                    queued[w] = True
    return dist, True


def _potentials(indptr: np.ndarray, head: np.ndarray, cost: np.ndarray, n: int) -> np.ndarray | None:
    """Distances from a zero root (potentials), or None if a negative cycle is reachable."""
    dist, ok = _spfa(indptr, head, cost, n)
    return dist if ok else None


def _certify(pairs: LinkagePairs, used: np.ndarray, cost: np.ndarray, k: int) -> None:
    """Check that the links ``used`` are a maximum flow of least integer ``cost``; raise if not.

    The residual network: a source s with an arc to every member with room (and back from every
    member with a link), each unused pair member -> household at its cost, each used pair
    household -> member at minus its cost, every free household -> sink t (and back from t to
    every linked household), all other arcs costing 0.

    * Most links: t is not reachable from s (no augmenting path; max-flow min-cut).
    * Least time among those: shortest-path distances from a virtual root joined to every node
      by a zero arc, found by a queue-based Bellman-Ford (compiled with numba), are potentials
      under which every residual arc has a reduced cost >= 0, checked in int64 again here.  A
      negative cycle would never settle: a node taken from the queue more than n times stops it.
    """
    n_m, n_h = pairs.n_members, pairs.n_households
    s, t, n = n_m + n_h, n_m + n_h + 1, n_m + n_h + 2
    count = np.bincount(pairs.member[used], minlength=n_m)
    linked = np.zeros(n_h, dtype=bool)
    linked[pairs.household[used]] = True
    members, homes = np.arange(n_m), n_m + np.arange(n_h)
    home = n_m + pairs.household
    room, has = members[count < k], members[count > 0]
    free, taken = homes[~linked], homes[linked]
    tail = np.concatenate(
        [np.where(used, home, pairs.member), np.full(room.size, s), has, free, np.full(taken.size, t)]
    )
    head = np.concatenate(
        [np.where(used, pairs.member, home), room, np.full(has.size, s), np.full(free.size, t), taken]
    )
    arc_cost = np.concatenate([np.where(used, -cost, cost), np.zeros(tail.size - cost.size, dtype=np.int64)])
    reach = sparse.csr_array((np.ones(tail.size), (tail, head)), shape=(n, n))
    if t in breadth_first_order(reach, s, directed=True, return_predecessors=False):
        raise LinkageSolverError("联系户分配不是最大联系数 (an augmenting path is left: not the most links)")
    order = np.argsort(tail, kind="stable")
    indptr = np.searchsorted(tail[order], np.arange(n + 1)).astype(np.int64)
    dist = _potentials(indptr, head[order].astype(np.int64), arc_cost[order].astype(np.int64), n)
    if dist is None:
        raise LinkageSolverError("联系户分配不是最短总步行时间 (a negative cycle is left: not the least time)")
    if (arc_cost + dist[tail] - dist[head]).min() < 0:
        raise LinkageSolverError("联系户分配的对偶检验未通过 (the potentials do not certify the optimum)")


def greedy_linkage(pairs: LinkagePairs, *, k: int = LINKAGE_HOUSEHOLDS_PER_MEMBER) -> Linkage:
    """The greedy peer: pairs taken nearest first while the member has room and the household is free.

    One pass over the pairs in order of time (a baseline, not the assignment to use).
    """
    _check_k(k)
    order = np.argsort(pairs.time_s, kind="stable")
    room = np.full(pairs.n_members, int(k))
    free = np.ones(pairs.n_households, dtype=bool)
    chosen = []
    members = pairs.member[order].tolist()
    households = pairs.household[order].tolist()
    for i, m, h in zip(order.tolist(), members, households, strict=True):
        if room[m] and free[h]:
            room[m] -= 1
            free[h] = False
            chosen.append(i)
    return _result(pairs, np.asarray(chosen, dtype=np.int64), k, "greedy", False)


def grid_codes_at(points: gpd.GeoSeries, grids: gpd.GeoDataFrame, *, code_column: str = "code") -> np.ndarray:
    """The code of the grid each point lies in, ``""`` for a point in no grid (object array).

    Parameters
    ----------
    points
        Points with a CRS (households, members).
    grids
        Grid polygons with a CRS and a ``code_column``; a point on a shared boundary or where
        grids overlap goes to the first grid listed.
    """
    codes = np.full(len(points), "", dtype=object)
    if len(points) == 0 or len(grids) == 0:
        return codes
    tree = shapely.STRtree(grids.to_crs(points.crs).geometry.to_numpy())
    hit_pt, hit_grid = tree.query(points.to_numpy(), predicate="intersects")
    order = np.lexsort((hit_grid, hit_pt))
    point, first = np.unique(hit_pt[order], return_index=True)
    codes[point] = grids[code_column].astype(str).to_numpy()[hit_grid[order][first]]
    return codes


def linkage_by_grid(linkage: Linkage, *, member_grid: np.ndarray, household_grid: np.ndarray) -> pd.DataFrame:
    """Per grid: members, members short of ``k``, households, linked and unlinked households.

    Parameters
    ----------
    linkage
        The assignment (:func:`solve_linkage` or :func:`greedy_linkage`).
    member_grid, household_grid
        The grid code of each member and household (``""``: in no grid, kept as its own row).

    Returns
    -------
    pandas.DataFrame
        ``grid_code``, ``members``, ``members_short``, ``households``, ``linked``, ``unlinked``,
        sorted by code, whole numbers.
    """
    members = pd.DataFrame({"grid_code": member_grid, "members": 1, "members_short": linkage.member_count < linkage.k})
    homes = pd.DataFrame(
        {"grid_code": household_grid, "households": 1, "linked": linkage.household_member >= 0},
    )
    homes["unlinked"] = ~homes["linked"]
    table = pd.concat([members.groupby("grid_code").sum(), homes.groupby("grid_code").sum()], axis=1, sort=True).fillna(
        0
    )
    return table.astype(np.int64).reset_index()[
        ["grid_code", "members", "members_short", "households", "linked", "unlinked"]
    ]
