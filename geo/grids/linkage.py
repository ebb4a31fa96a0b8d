"""The "1+10" linkage: every in-service party member linked to at least K nearby households.

Each household is linked to at most one member and the total walking time on the street
network is the least possible.  This is a capacitated (transportation) assignment:

* candidate pairs — the households each member reaches within a walking-time radius, from
  one batched Dijkstra over all members (:func:`geo.network.reach.reach_sets` on the reversed
  graph); a member with fewer than K candidates has its radius widened (doubled, up to a
  ceiling) and only those members are routed again;
* :func:`solve_linkage` — the transportation LP solved by HiGHS (``scipy.optimize.linprog``).
  Its constraint matrix is a bipartite incidence matrix plus an identity (one shortfall
  variable per member), so it is totally unimodular and the LP optimum is integral; the
  solution is checked to be integral and the solver status to be optimal.  A shortfall costs
  more than any rearrangement of links could save, so the number of links is the largest
  possible first and the walking time the least among those;
* :func:`greedy_linkage` — the nearest-pair greedy peer, for comparison.

Members with fewer than K links (not enough free households within the radius) and the
households left unlinked are reported in :class:`Linkage`, never dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from geo.errors import GeoError, InputDataError
from geo.network.graph import CostGraph
from geo.network.reach import reach_sets
from geo.network.routing import demand_times_from_reach, reversed_graph, take_snapped
from geo.network.snapping import snap_points

logger = logging.getLogger(__name__)

__all__ = ["Linkage", "LinkagePairs", "greedy_linkage", "linkage_pairs", "solve_linkage"]

#: Households each member is linked to: "1+10" (Yongchun's in-service members, issue 20).
LINKAGE_HOUSEHOLDS_PER_MEMBER: int = 10
#: First walking-time radius of the candidate pairs (s): 10 minutes at the walking speed.
LINKAGE_RADIUS_S: float = 600.0
#: Ceiling of the widened radius (s): the 15-minute life circle.
LINKAGE_MAX_RADIUS_S: float = 900.0
#: Column generation starts from each member's nearest ``LINKAGE_FIRST_PAIRS_PER_K * k`` pairs.
LINKAGE_FIRST_PAIRS_PER_K: int = 3
#: A left-out pair enters the LP when its reduced cost is below -tol x the largest member dual.
LINKAGE_REDUCED_COST_TOL: float = 1e-9


class LinkageSolverError(GeoError, RuntimeError):
    """HiGHS did not prove the linkage optimal (status other than optimal, or a fractional solution)."""


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
        ``"highs"`` (exact) or ``"greedy"``.
    optimal
        True when HiGHS proved the assignment optimal and it is integral.
    """

    household_member: np.ndarray
    household_time_s: np.ndarray
    member_count: np.ndarray
    k: int
    total_time_s: float
    method: str
    optimal: bool

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


def _result(pairs: LinkagePairs, chosen: np.ndarray, k: int, method: str, optimal: bool) -> Linkage:
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
    )


def solve_linkage(
    pairs: LinkagePairs, *, k: int = LINKAGE_HOUSEHOLDS_PER_MEMBER, first_pairs_per_k: int = LINKAGE_FIRST_PAIRS_PER_K
) -> Linkage:
    """The exact linkage: most links first, then the least total walking time (HiGHS).

    Variables: one per candidate pair (0..1) and one shortfall per member (0..k).
    Each member: links + shortfall = k; each household: links <= 1.  A unit of shortfall
    costs more than the longest augmenting path could save, so shortfalls are only left where
    no rearrangement can link one more household.

    Raises
    ------
    InputDataError
        ``k`` not a positive integer.
    LinkageSolverError
        HiGHS did not return an optimal, integral solution.
    """
    _check_k(k)
    p, n_m, n_h = pairs.member.size, pairs.n_members, pairs.n_households
    if p == 0:
        return _result(pairs, np.zeros(0, dtype=np.int64), k, "highs", True)
    max_t = float(pairs.time_s.max())
    # An augmenting path alternates at most 2 * min(n_m, n_h) + 1 pairs.
    penalty = (2.0 * min(n_m, n_h) + 2.0) * max(max_t, 1.0)
    # Column generation: the LP over each member's nearest pairs first; a pair left out can
    # only improve the optimum if its reduced cost (time - member dual - household dual) is
    # negative.  Those are added and the LP solved again until none is: the optimum over the
    # subset is then the optimum over all pairs (LP duality), and it is integral.
    order = np.lexsort((pairs.time_s, pairs.member))
    first = np.searchsorted(pairs.member[order], np.arange(n_m))
    rank = np.empty(p, dtype=np.int64)
    rank[order] = np.arange(p) - first[pairs.member[order]]
    active = rank < max(1, first_pairs_per_k) * k
    rounds = 0
    while True:
        rounds += 1
        cols = np.flatnonzero(active)
        x, dual_m, dual_h = _solve_lp(pairs, cols, k, penalty)
        reduced = pairs.time_s - dual_m[pairs.member] - dual_h[pairs.household]
        add = ~active & (reduced < -LINKAGE_REDUCED_COST_TOL * max(1.0, float(np.abs(dual_m).max(initial=0.0))))
        if not add.any():
            break
        logger.info("linkage (HiGHS): round %d, %d pairs added", rounds, int(add.sum()))
        active |= add
    chosen = cols[x > 0.5]
    logger.info(
        "linkage (HiGHS): %d links, total %.0f s, %d of %d pairs in the LP, %d rounds",
        chosen.size,
        pairs.time_s[chosen].sum(),
        cols.size,
        p,
        rounds,
    )
    return _result(pairs, chosen, k, "highs", True)


def _solve_lp(
    pairs: LinkagePairs, cols: np.ndarray, k: int, penalty: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The transportation LP over the pairs ``cols``: the links (0/1) and the duals of both sides."""
    n_m, n_h, p = pairs.n_members, pairs.n_households, cols.size
    member, household = pairs.member[cols], pairs.household[cols]
    cost = np.concatenate([pairs.time_s[cols], np.full(n_m, penalty)])
    at = np.arange(p)
    a_eq = sparse.hstack(
        [sparse.csr_array((np.ones(p), (member, at)), shape=(n_m, p)), sparse.identity(n_m, format="csr")],
        format="csr",
    )
    a_ub = sparse.hstack(
        [sparse.csr_array((np.ones(p), (household, at)), shape=(n_h, p)), sparse.csr_array((n_h, n_m))],
        format="csr",
    )
    bounds = np.column_stack([np.zeros(p + n_m), np.concatenate([np.ones(p), np.full(n_m, float(k))])])
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.ones(n_h),
        A_eq=a_eq,
        b_eq=np.full(n_m, float(k)),
        bounds=bounds,
        method="highs-ds",
    )
    if res.status != 0 or res.x is None:
        raise LinkageSolverError(f"联系户分配求解失败 (HiGHS status {res.status}: {res.message})")
    x = res.x[:p]
    if np.abs(x - np.round(x)).max(initial=0.0) > 1e-6:
        raise LinkageSolverError("联系户分配的解不是整数 (the HiGHS solution is fractional)")
    return x, np.asarray(res.eqlin.marginals), np.asarray(res.ineqlin.marginals)


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
