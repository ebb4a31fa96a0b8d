"""A location-allocation problem as arrays: the (point, candidate, seconds) pairs, the result, the reductions.

Pure arrays in, arrays out: no geometry here (that is :mod:`geo.placement.centers`).  A problem
is the sparse set of (demand point, candidate, seconds) pairs within the cutoff and a
weight per demand point; candidates are *free* (may be chosen), *fixed* (existing
centers and required sites, always open) or *excluded*.

Models
------
* MCLP: choose at most ``p`` free candidates maximising the weight covered (weight
  already covered by fixed sites is not counted again).  ``sum x <= p`` instead of
  ``= p``: coverage never falls with more sites, so the optimum is the same, and it
  makes dropping dominated candidates safe.
* p-median: choose ``p`` free candidates minimising the total weighted time to the
  nearest open site; a demand point with no open site within the cutoff counts the
  penalty time instead.
* LSCP: the fewest free candidates covering every coverable demand point (or a
  share of the total weight).
* Capacitated MCLP / p-median: every open site (fixed ones too) serves at most
  ``capacity`` weight; a demand point's residents may be split between sites.

Every result carries the status and the proven bound: ``optimal`` only when HiGHS
proved optimality within ``mip_rel_gap``; a time-limited run is ``time_limit`` with
its gap; heuristics report the Lagrangian (or LP) bound and the gap it proves.

Heuristics: MCLP and p-median, greedy + vertex-substitution swaps with a Lagrangian
bound; LSCP, a row-weighting local search (:mod:`geo.placement.cover_search`) on one core while
HiGHS solves the LP bound on the other; capacitated MCLP, a capacity-aware greedy,
capacitated p-median, the uncapacitated heuristic's sites, each followed by the best
assignment under the capacities (an LP) and bounded by the uncapacitated bound (and,
for MCLP, the total capacity).  The exact methods start their MIP from these.

Reductions (covering models): demand points covered by fixed sites, with zero
weight or with no candidate are set aside (and reported); demand points with the
same candidate set are merged (weights summed); candidates covering nothing, and
candidates whose covered set is a subset of another's, are dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from geo import settings
from geo.errors import InputDataError

logger = logging.getLogger(__name__)

__all__ = ["CoverReduction", "Problem", "Solution", "check_p", "dominated", "reduce_cover"]

MIP_REL_GAP: float = settings.PLACEMENT_MIP_REL_GAP
MIP_TIME_LIMIT_S: float = settings.PLACEMENT_TIME_LIMIT_S
LAGRANGE_ITERATIONS: int = settings.PLACEMENT_LAGRANGE_ITERATIONS
HEURISTIC_TIME_LIMIT_S: float = settings.PLACEMENT_HEURISTIC_TIME_LIMIT_S
EPS = 1e-9
#: Seconds the heuristic spends on its Lagrangian bound: the heuristic is for interactive
#: use (issue 6: under 2 s on 20,000 points); the exact method spends its time limit.
HEURISTIC_BOUND_S = 0.75
#: p-median instances with at most this many (point, site) pairs go straight to the MIP;
#: larger ones get the Lagrangian heuristic and bound first, and the MIP only when
#: variable fixing removes at least half of the candidates (HiGHS makes no progress in
#: 60 s on 350,000 pairs).
PMEDIAN_DIRECT_MIP_PAIRS = 50_000
#: Seconds kept back from the MIP's limit for building the answer after it (HiGHS
#: overshoots its limit by a fraction of a second on large models too).
FINISH_S = 0.75
#: Constraint nonzeros above which the MIP's LPs use the interior-point method.
MIP_IPM_MIN_NNZ = 100_000


@dataclass(frozen=True)
class Problem:
    """One location-allocation instance as arrays.

    Attributes
    ----------
    n_demand, n_cand
        Demand points and candidate sites.
    demand, cand, time_s
        The pairs within the cutoff: demand point, candidate, travel time (seconds).
    weight
        float64 (n_demand,): residents (or function-weighted residents) per point.
    fixed
        bool (n_cand,): always open (existing centers, required sites).
    excluded
        bool (n_cand,): never open.
    """

    n_demand: int
    n_cand: int
    demand: np.ndarray
    cand: np.ndarray
    time_s: np.ndarray
    weight: np.ndarray
    fixed: np.ndarray
    excluded: np.ndarray

    @classmethod
    def from_pairs(
        cls,
        demand: np.ndarray,
        cand: np.ndarray,
        time_s: np.ndarray,
        weight: np.ndarray,
        n_cand: int,
        *,
        fixed: np.ndarray | None = None,
        excluded: np.ndarray | None = None,
    ) -> Problem:
        """Validate and build; a pair appearing twice keeps its shorter time."""
        weight = np.asarray(weight, dtype=float)
        demand = np.asarray(demand, dtype=np.int64)
        cand = np.asarray(cand, dtype=np.int64)
        time_s = np.asarray(time_s, dtype=float)
        n_demand = weight.shape[0]
        if not (demand.shape == cand.shape == time_s.shape):
            raise InputDataError("需求点、候选点与时间数组长度不一致 (pairs arrays differ in length)")
        if not np.isfinite(weight).all() or (weight < 0).any():
            raise InputDataError("需求权重须为非负有限数 (weights must be finite and >= 0)")
        if demand.size and (demand.min() < 0 or demand.max() >= n_demand or cand.min() < 0 or cand.max() >= n_cand):
            raise InputDataError("成本对的下标越界 (pair index out of range)")
        if not np.isfinite(time_s).all() or (time_s < 0).any():
            raise InputDataError("步行时间须为非负有限数 (times must be finite and >= 0)")
        fixed = np.zeros(n_cand, bool) if fixed is None else np.asarray(fixed, bool)
        excluded = np.zeros(n_cand, bool) if excluded is None else np.asarray(excluded, bool)
        if fixed.shape != (n_cand,) or excluded.shape != (n_cand,):
            raise InputDataError("fixed/excluded 须为每个候选点一个布尔值 (one flag per candidate)")
        if (fixed & excluded).any():
            k = int(np.flatnonzero(fixed & excluded)[0])
            raise InputDataError(f"候选点 {k} 同时被指定为必选和排除 (candidate both required and excluded)")
        key = demand * n_cand + cand
        if key.size > 1 and not (key[1:] > key[:-1]).all():  # by point, then site; a repeated pair keeps its minimum
            order = np.argsort(key, kind="stable")
            key, time_s = key[order], time_s[order]
            start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            time_s = np.minimum.reduceat(time_s, start) if start.size else time_s
            key = key[start]
            demand, cand = key // n_cand, key % n_cand
        return cls(n_demand, n_cand, demand, cand, time_s, weight, fixed, excluded)

    @property
    def free(self) -> np.ndarray:
        """bool (n_cand,): may be chosen."""
        return ~self.fixed & ~self.excluded

    def cover_matrix(self, cover_s: float) -> sparse.csr_array:
        """bool (n_demand, n_cand) CSR: candidate reaches the demand point within ``cover_s``."""
        keep = self.time_s <= cover_s
        return sparse.csr_array(
            (np.ones(int(keep.sum()), bool), (self.demand[keep], self.cand[keep])), shape=(self.n_demand, self.n_cand)
        )


@dataclass(frozen=True)
class Solution:
    """Chosen sites with the proven quality of the choice.

    Attributes
    ----------
    model
        ``mclp``, ``pmedian``, ``lscp`` (``+cap`` when capacitated).
    method
        ``exact`` (HiGHS MIP) or ``heuristic``.
    status
        ``optimal`` (proven within :data:`MIP_REL_GAP`), ``time_limit`` (best found
        when the clock ran out, with its proven gap), ``heuristic`` (local search, with
        the gap to the Lagrangian/LP bound), ``infeasible``.
    chosen
        int64: free candidates chosen (fixed ones are always open and not listed).
    objective
        MCLP: weight covered, fixed sites' coverage included; p-median: weighted
        time, seconds x weight; LSCP: new sites.
    bound
        Proven bound on the optimum (upper for MCLP, lower for p-median and LSCP).
    gap
        ``|bound - objective| / |objective|`` (0 when both are 0).
    assign_share
        Capacitated models: (demand, candidate, share) of each point's weight served.
    """

    model: str
    method: str
    status: str
    chosen: np.ndarray
    objective: float
    bound: float
    solve_time_s: float
    notes: tuple[str, ...] = ()
    assign_share: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    reduction: dict = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Proven relative gap between the objective and the bound."""
        if abs(self.objective) < EPS:
            return 0.0 if abs(self.bound) < EPS else float("inf")
        return abs(self.bound - self.objective) / abs(self.objective)

    @property
    def optimal(self) -> bool:
        """Proven optimal (never true for a time-limited or heuristic answer above the gap)."""
        return self.status == "optimal"


# ---------------------------------------------------------------------------- reductions


@dataclass(frozen=True)
class CoverReduction:
    """A covering instance after the reductions.

    ``A`` is bool (rows, cols): merged demand rows by kept candidate columns; ``w`` the
    merged weights; ``row_of`` maps each original demand point to its row (-1 if set
    aside); ``cols`` the original candidate of each column.
    """

    A: sparse.csr_array
    w: np.ndarray
    row_of: np.ndarray
    cols: np.ndarray
    covered_by_fixed: np.ndarray
    uncoverable: np.ndarray
    weight_fixed: float
    stats: dict


def _merge_rows(A: sparse.csr_array) -> tuple[np.ndarray, int]:
    """Group index of every row, equal rows in one group (hash, then verified)."""
    n_rows, n_cols = A.shape
    A = A.tocsr()
    A.sort_indices()
    rng = np.random.default_rng(12345)
    keys = rng.integers(0, 2**63, size=(2, max(n_cols, 1)), dtype=np.int64).astype(np.uint64)
    length = np.diff(A.indptr)
    row = np.repeat(np.arange(n_rows), length)
    h1 = np.zeros(n_rows, np.uint64)
    h2 = np.zeros(n_rows, np.uint64)
    np.add.at(h1, row, keys[0][A.indices])
    np.add.at(h2, row, keys[1][A.indices])
    table = np.stack([h1, h2, length.astype(np.uint64)], axis=1)
    _, first, group = np.unique(table, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    rep = first[group]
    pos = np.arange(A.indices.size)
    rep_pos = A.indptr[rep[row]] + (pos - A.indptr[row])
    bad = np.unique(row[A.indices != A.indices[rep_pos]])
    n_groups = first.size
    if bad.size:  # a hash collision: those rows stay on their own
        group[bad] = n_groups + np.arange(bad.size)
        n_groups += bad.size
    return group, n_groups


def dominated(A: sparse.csr_array) -> np.ndarray:
    """bool per column: its rows are a subset of another column's (ties: the later one)."""
    C = sparse.csc_array(A.astype(np.float64))
    size = np.diff(C.indptr)
    overlap = (C.T @ C).tocoo()
    j, k, v = overlap.row, overlap.col, overlap.data
    sub = (j != k) & (np.abs(v - size[j]) < 0.5) & ((size[k] > size[j]) | ((size[k] == size[j]) & (k < j)))
    out = np.zeros(A.shape[1], bool)
    out[j[sub]] = True
    return out


def reduce_cover(problem: Problem, cover_s: float, *, drop_dominated: bool = True) -> CoverReduction:
    """Reduce a covering instance (MCLP, LSCP): set aside, merge rows, drop columns."""
    A = problem.cover_matrix(cover_s)
    w = problem.weight
    fixed_cols = np.flatnonzero(problem.fixed)
    by_fixed = np.asarray(A[:, fixed_cols].sum(axis=1)).ravel() > 0 if fixed_cols.size else np.zeros(len(w), bool)
    free = problem.free
    free_cols = np.flatnonzero(free)
    A_free = A[:, free_cols].tocsr()
    reach_free = np.diff(A_free.indptr) > 0
    uncoverable = ~by_fixed & ~reach_free
    keep_rows = np.flatnonzero(~by_fixed & reach_free & (w > 0))
    sub = A_free[keep_rows].tocsr()
    group, n_groups = _merge_rows(sub)
    w_rows = np.bincount(group, weights=w[keep_rows], minlength=n_groups)
    first = np.full(n_groups, -1)
    first[group[::-1]] = np.arange(keep_rows.size)[::-1]
    merged = sub[first].tocsr() if n_groups else sub[:0]
    col_used = np.diff(merged.tocsc().indptr) > 0
    cols_mask = col_used.copy()
    n_dominated = 0
    if drop_dominated and merged.shape[0]:
        dom = dominated(merged[:, np.flatnonzero(col_used)]) if col_used.any() else np.zeros(0, bool)
        idx = np.flatnonzero(col_used)
        cols_mask[idx[dom]] = False
        n_dominated = int(dom.sum())
    A_red = merged[:, np.flatnonzero(cols_mask)].tocsr()
    row_of = np.full(len(w), -1, dtype=np.int64)
    row_of[keep_rows] = group
    stats = {
        "demand_points": len(w),
        "demand_rows": int(n_groups),
        "candidates_free": int(free.sum()),
        "candidates_kept": int(cols_mask.sum()),
        "candidates_dominated": n_dominated,
        "candidates_covering_nothing": int((~col_used).sum()),
        "points_covered_by_fixed": int(by_fixed.sum()),
        "points_uncoverable": int(uncoverable.sum()),
        "points_zero_weight": int((~by_fixed & reach_free & (w <= 0)).sum()),
    }
    logger.info("cover reduction: %s", stats)
    return CoverReduction(
        A=A_red,
        w=w_rows,
        row_of=row_of,
        cols=free_cols[cols_mask],
        covered_by_fixed=by_fixed,
        uncoverable=uncoverable,
        weight_fixed=float(w[by_fixed].sum()),
        stats=stats,
    )


def check_p(p: int, n_free: int, model: str) -> None:
    """:class:`InputDataError` unless ``p`` is a positive integer no larger than the free candidates."""
    if not isinstance(p, int | np.integer) or p < 1:
        raise InputDataError(f"新增中心数 p={p!r} 须为正整数 (p must be a positive integer)")
    if p > n_free:
        raise InputDataError(
            f"新增中心数 p={p} 多于可选候选点 {n_free} 个 ({model}: p is larger than the number of "
            "free candidate sites; add candidates or lower p)"
        )


def proven_status(objective: float, bound: float, mip_rel_gap: float, otherwise: str, *, maximize: bool) -> str:
    """``optimal`` when the bound proves ``objective`` within ``mip_rel_gap``, else ``otherwise``.

    One rule for every weighted model: the distance from the objective to the bound (above it
    when maximising, below it when minimising) at most ``mip_rel_gap * max(|objective|, 1)``.
    """
    gap = bound - objective if maximize else objective - bound
    return "optimal" if gap <= mip_rel_gap * max(abs(objective), 1.0) else otherwise


def time_limit_notes(status: str, time_limit_s: float) -> list[str]:
    """The note a time-limited answer carries (none for any other status)."""
    if status != "time_limit":
        return []
    return [f"求解达到时间上限 {time_limit_s:g} s，非最优 (time limit reached: not proven optimal)"]
