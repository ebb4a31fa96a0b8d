"""The solvers of location-allocation: reductions, exact MIP through HiGHS, heuristics with bounds.

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
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse

from geo import settings
from geo.errors import InputDataError
from geo.placement.cover_search import CHUNK_STEPS, CoverSearch, dominated_rows

logger = logging.getLogger(__name__)

__all__ = [
    "CoverReduction",
    "Problem",
    "Solution",
    "reduce_cover",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
]

MIP_REL_GAP: float = settings.PLACEMENT_MIP_REL_GAP
MIP_TIME_LIMIT_S: float = settings.PLACEMENT_TIME_LIMIT_S
LAGRANGE_ITERATIONS: int = settings.PLACEMENT_LAGRANGE_ITERATIONS
HEURISTIC_TIME_LIMIT_S: float = settings.PLACEMENT_HEURISTIC_TIME_LIMIT_S
_EPS = 1e-9
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
_FINISH_S = 0.75
#: Constraint nonzeros above which the MIP's LPs use the interior-point method.
_MIP_IPM_MIN_NNZ = 100_000


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
        if abs(self.objective) < _EPS:
            return 0.0 if abs(self.bound) < _EPS else float("inf")
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


def _dominated(A: sparse.csr_array) -> np.ndarray:
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
        dom = _dominated(merged[:, np.flatnonzero(col_used)]) if col_used.any() else np.zeros(0, bool)
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


# ---------------------------------------------------------------------------- HiGHS


@dataclass(frozen=True)
class _MipResult:
    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    time_s: float
    row_dual: np.ndarray | None = None


def _run_highs(
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    integer: np.ndarray,
    rows: sparse.csr_array,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    *,
    maximize: bool,
    time_limit_s: float,
    start: np.ndarray | None = None,
    mip_rel_gap: float = MIP_REL_GAP,
    relax: bool = False,
    lp_solver: str = "choose",
) -> _MipResult:
    """Solve ``opt cost @ x`` s.t. ``row_lower <= rows @ x <= row_upper`` with HiGHS."""
    import highspy

    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("threads", 1)
    if relax:
        h.setOptionValue("solver", lp_solver)
    elif rows.nnz > _MIP_IPM_MIN_NNZ:
        # HiGHS's dual simplex stalls on large covering LPs (degenerate); the interior
        # point method solves their LPs in seconds (MCLP 2,000 candidates: proven
        # optimal in ~40 s instead of no progress in 60 s).
        h.setOptionValue("mip_lp_solver", "ipm")
    lp = highspy.HighsLp()
    n = cost.size
    csc = sparse.csc_array(rows)
    csc.sort_indices()
    lp.num_col_ = n
    lp.num_row_ = rows.shape[0]
    lp.col_cost_ = np.asarray(cost, float)
    lp.col_lower_ = np.asarray(lower, float)
    lp.col_upper_ = np.asarray(upper, float)
    lp.row_lower_ = np.asarray(row_lower, float)
    lp.row_upper_ = np.asarray(row_upper, float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integer]
    h.passModel(lp)
    if start is not None and not relax:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(start, float))
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    ms = highspy.HighsModelStatus
    elapsed = time.perf_counter() - t0
    if model_status == ms.kInfeasible:
        return _MipResult("infeasible", None, float("nan"), float("nan"), elapsed)
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_x else None
    objective = float(info.objective_function_value) if has_x else float("nan")
    if relax:
        status = "optimal" if model_status == ms.kOptimal else "time_limit"
        duals = np.asarray(h.getSolution().row_dual) if status == "optimal" else None
        return _MipResult(status, x, objective, objective, elapsed, duals)
    bound = float(info.mip_dual_bound)
    if model_status == ms.kOptimal:
        status = "optimal"
    elif model_status in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit, ms.kSolutionLimit):
        status = "time_limit"
    else:
        status = "error"
        logger.warning("HiGHS status %s", h.modelStatusToString(model_status))
    return _MipResult(status, x, objective, bound, elapsed)


def _binary_pick(x: np.ndarray) -> np.ndarray:
    return np.flatnonzero(x > 0.5)


# ---------------------------------------------------------------------------- MCLP


def _mclp_objective(A: sparse.csr_array, w: np.ndarray, cols: np.ndarray) -> float:
    if cols.size == 0:
        return 0.0
    hit = np.asarray(A[:, cols].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def _greedy_mclp(A: sparse.csr_array, At: sparse.csr_array, w: np.ndarray, p: int) -> list[int]:
    covered = np.zeros(A.shape[0], bool)
    chosen: list[int] = []
    for _ in range(min(p, A.shape[1])):
        gain = At @ np.where(covered, 0.0, w)
        if chosen:
            gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= _EPS:
            break
        chosen.append(j)
        covered[At.indices[At.indptr[j] : At.indptr[j + 1]]] = True
    return chosen


def _swap_mclp(
    A: sparse.csr_array, At: sparse.csr_array, w: np.ndarray, chosen: list[int], p: int, deadline: float
) -> list[int]:
    """Best-improvement vertex substitution until no swap gains (or the deadline)."""
    S = list(chosen)
    n_rows, n_cols = A.shape
    while time.perf_counter() < deadline and S:
        AS = A[:, S].tocsr()
        count = np.diff(AS.indptr)
        add_gain = At @ np.where(count == 0, w, 0.0)
        add_gain[S] = -np.inf
        if len(S) < p:  # room left: add instead of swapping
            j = int(np.argmax(add_gain))
            if add_gain[j] > _EPS:
                S.append(j)
                continue
        single = np.flatnonzero(count == 1)
        owner = AS.indices[AS.indptr[single]]
        loss = np.bincount(owner, weights=w[single], minlength=len(S))
        M = sparse.csr_array((w[single], (single, owner)), shape=(n_rows, len(S)))
        extra = (At @ M).toarray() if single.size else np.zeros((n_cols, len(S)))
        delta = add_gain[:, None] - loss[None, :] + extra
        j, s = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if not delta[j, s] > _EPS * max(1.0, float(w.sum())):
            break
        S[s] = int(j)
    return S


def _lagrange_mclp(
    A: sparse.csr_array,
    At: sparse.csr_array,
    w: np.ndarray,
    p: int,
    best: float,
    iterations: int,
    *,
    deadline: float = np.inf,
) -> tuple[float, np.ndarray]:
    """Upper bound of the MCLP by subgradient optimisation of the Lagrangian relaxation.

    Relaxing ``y_i <= sum_j a_ij x_j`` with ``lambda_i`` in [0, w_i]:
    ``L = sum_i max(0, w_i - lambda_i) + (sum of the p largest positive (A^T lambda)_j)``.
    Returns the best bound and its multipliers.
    """
    lam = 0.5 * w
    bound, best_lam = float(w.sum()), lam.copy()
    theta = 2.0
    stall = 0
    for _ in range(iterations):
        col = At @ lam
        k = min(p, col.size)
        top = np.argpartition(-col, k - 1)[:k] if k else np.zeros(0, int)
        top = top[col[top] > 0]
        value = float(np.maximum(w - lam, 0).sum() + col[top].sum())
        if value < bound - 1e-9:
            bound, best_lam = value, lam.copy()
            stall = 0
        else:
            stall += 1
            if stall >= 10:
                theta /= 2
                stall = 0
        if bound - best <= 1e-7 * max(1.0, abs(best)) or theta < 1e-4 or time.perf_counter() > deadline:
            break
        y = (w > lam).astype(float)
        cov = np.asarray(A[:, top].sum(axis=1)).ravel() if top.size else np.zeros(len(w))
        g = y - cov  # dL/dlambda = cov - y: step against it
        norm = float(g @ g)
        if norm <= 0:
            break
        step = theta * (value - best) / norm
        lam = np.clip(lam + step * g, 0.0, w)
    return bound, best_lam


def _lagrange_value_mclp(At: sparse.csr_array, w: np.ndarray, lam: np.ndarray, p: int) -> float:
    """The Lagrangian bound at ``lam`` (valid for any ``lam >= 0``)."""
    col = At @ lam
    k = min(p, col.size)
    top = np.sort(col)[::-1][:k]
    return float(np.maximum(w - lam, 0).sum() + top[top > 0].sum())


def _lp_duals_mclp(A: sparse.csr_array, w: np.ndarray, p: int, time_limit_s: float) -> np.ndarray | None:
    """Optimal multipliers of the coverage rows from the LP relaxation (interior point + crossover).

    The LP's duals are the best Lagrangian multipliers: their bound equals the LP bound,
    and they fix the most columns.  HiGHS's simplex stalls on this LP (degenerate);
    the interior-point method solves it in seconds.
    """
    n_r, n_c = A.shape
    rows = sparse.vstack(
        [
            sparse.hstack([-sparse.csr_array(A.astype(float)), sparse.eye_array(n_r, format="csr")]),
            sparse.hstack([sparse.csr_array(np.ones((1, n_c))), sparse.csr_array((1, n_r))]),
        ]
    ).tocsr()
    res = _run_highs(
        np.concatenate([np.zeros(n_c), w]),
        np.zeros(n_c + n_r),
        np.ones(n_c + n_r),
        np.zeros(n_c + n_r, bool),
        rows,
        np.full(n_r + 1, -np.inf),
        np.r_[np.zeros(n_r), p],
        maximize=True,
        time_limit_s=time_limit_s,
        relax=True,
        lp_solver="ipm",
    )
    if res.row_dual is None:
        return None
    return np.clip(np.abs(res.row_dual[:n_r]), 0.0, w)


def _lagrange_fix_mclp(
    At: sparse.csr_array, w: np.ndarray, lam: np.ndarray, p: int, best: float
) -> tuple[np.ndarray, np.ndarray]:
    """Columns that no plan better than ``best`` can open (fix 0) or leave shut (fix 1).

    Forcing column j in (or out) of the Lagrangian subproblem at ``lam`` gives a valid
    bound of every plan with j open (or shut); below ``best``, no such plan beats the
    incumbent.
    """
    col = At @ lam
    base = float(np.maximum(w - lam, 0).sum())
    order = np.argsort(-col, kind="stable")
    k = min(p, col.size)
    vals = np.where(col[order] > 0, col[order], 0.0)
    top_sum = float(vals[:k].sum())
    kth = float(vals[k - 1]) if k else 0.0
    nxt = float(vals[k]) if k < col.size else 0.0
    in_top = np.zeros(col.size, bool)
    in_top[order[:k]] = True
    tol = 1e-9 * max(1.0, abs(best))
    force_in = base + top_sum - kth + np.maximum(col, 0)  # j open, replacing the k-th
    force_out = base + top_sum - np.maximum(col, 0) + nxt  # j shut, the (k+1)-th instead
    fix0 = ~in_top & (force_in <= best + tol)
    fix1 = in_top & (force_out <= best + tol)
    return fix0, fix1


def _mclp_mip(
    A: sparse.csr_array, w: np.ndarray, p: int, S: list[int], time_limit_s: float, mip_rel_gap: float
) -> _MipResult:
    """The MCLP as a MIP: columns x (binary) then y (continuous in [0, 1])."""
    n_r, n_c = A.shape
    rows = sparse.vstack(
        [
            sparse.hstack([-sparse.csr_array(A.astype(float)), sparse.eye_array(n_r, format="csr")]),
            sparse.hstack([sparse.csr_array(np.ones((1, n_c))), sparse.csr_array((1, n_r))]),
        ]
    ).tocsr()
    start = np.zeros(n_c + n_r)
    start[S] = 1.0
    if S:
        start[n_c:] = np.asarray(A[:, S].sum(axis=1)).ravel() > 0
    return _run_highs(
        np.concatenate([np.zeros(n_c), w]),
        np.zeros(n_c + n_r),
        np.ones(n_c + n_r),
        np.r_[np.ones(n_c, bool), np.zeros(n_r, bool)],
        rows,
        np.r_[np.full(n_r, -np.inf), -np.inf],
        np.r_[np.zeros(n_r), p],
        maximize=True,
        time_limit_s=time_limit_s,
        start=start,
        mip_rel_gap=mip_rel_gap,
    )


def _mclp_exact(
    A: sparse.csr_array,
    At: sparse.csr_array,
    w: np.ndarray,
    p: int,
    S: list[int],
    best: float,
    time_limit_s: float,
    mip_rel_gap: float,
    stats: dict,
) -> tuple[np.ndarray, float, float, str]:
    """Lagrangian bound, variable fixing, a second reduction, then HiGHS on what is left.

    Returns (columns of ``A`` chosen, objective, proven upper bound, status).  Every
    plan better than the incumbent ``S`` lies in the fixed sub-problem, so the bound
    is ``max(incumbent, sub-problem bound + fixed coverage)``.
    """
    t0 = time.perf_counter()
    tol = mip_rel_gap * max(abs(best), 1.0)
    S_arr = np.asarray(S, int)
    lam = _lp_duals_mclp(A, w, p, time_limit_s)
    if lam is None:  # the LP did not finish: subgradient multipliers instead
        lag, lam = _lagrange_mclp(A, At, w, p, best, LAGRANGE_ITERATIONS)
    else:
        lag = _lagrange_value_mclp(At, w, lam, p)
    if lag - best <= tol:
        return S_arr, best, max(lag, best), "optimal"
    fix0, fix1 = _lagrange_fix_mclp(At, w, lam, p, best)
    n_c = A.shape[1]
    coo = A.tocoo()
    sub = Problem.from_pairs(coo.row, coo.col, np.zeros(coo.row.size), w, n_c, fixed=fix1, excluded=fix0)
    p2 = p - int(fix1.sum())
    fixed_cols = np.flatnonzero(fix1)
    red = reduce_cover(sub, 0.5)
    stats.update(
        {
            "lagrange_fixed_out": int(fix0.sum()),
            "lagrange_fixed_in": int(fix1.sum()),
            "mip_rows": int(red.A.shape[0]),
            "mip_cols": int(red.A.shape[1]),
        }
    )
    logger.info("MCLP fixing: %d columns out, %d in; MIP %d x %d", fix0.sum(), fix1.sum(), *red.A.shape)
    if p2 <= 0 or red.w.size == 0:
        cols = fixed_cols if p2 >= 0 else S_arr
        obj = _mclp_objective(A, w, cols)
        return (cols, obj, max(obj, best), "optimal") if obj >= best - tol else (S_arr, best, best, "optimal")
    A2 = red.A
    At2 = sparse.csr_array(A2.T)
    S2 = _swap_mclp(A2, At2, red.w, _greedy_mclp(A2, At2, red.w, p2), p2, time.perf_counter() + HEURISTIC_TIME_LIMIT_S)
    left = max(time_limit_s - (time.perf_counter() - t0) - _FINISH_S, 1.0)
    res = _mclp_mip(A2, red.w, p2, S2, left, mip_rel_gap)
    sub_bound = (res.bound if np.isfinite(res.bound) else float(red.w.sum())) + red.weight_fixed
    if res.x is not None:
        cols = np.r_[fixed_cols, red.cols[_binary_pick(res.x[: A2.shape[1]])]].astype(int)
    else:
        cols = np.r_[fixed_cols, red.cols[np.asarray(S2, int)]].astype(int)
    obj = _mclp_objective(A, w, cols)
    if obj < best:
        cols, obj = S_arr, best
    bound = max(min(sub_bound, lag), obj)
    status = (
        "optimal" if bound - obj <= tol else ("time_limit" if res.status in ("time_limit", "optimal") else res.status)
    )
    return cols, obj, bound, status


def _check_p(p: int, n_free: int, model: str) -> None:
    if not isinstance(p, int | np.integer) or p < 1:
        raise InputDataError(f"新增中心数 p={p!r} 须为正整数 (p must be a positive integer)")
    if p > n_free:
        raise InputDataError(
            f"新增中心数 p={p} 多于可选候选点 {n_free} 个 ({model}: p is larger than the number of "
            "free candidate sites; add candidates or lower p)"
        )


def solve_mclp(
    problem: Problem,
    p: int,
    *,
    cover_s: float,
    method: str = "exact",
    capacity: float | None = None,
    time_limit_s: float = MIP_TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
) -> Solution:
    """Maximal covering: at most ``p`` new sites maximising the weight within ``cover_s``.

    Raises
    ------
    InputDataError
        ``p`` not positive or larger than the free candidates, no coverable weight,
        unknown method, capacity not positive.
    """
    t0 = time.perf_counter()
    _check_p(p, int(problem.free.sum()), "MCLP")
    if method not in ("exact", "heuristic"):
        raise InputDataError(f"求解方法 {method!r} 无效 (method must be 'exact' or 'heuristic')")
    if capacity is not None:
        return _solve_mclp_capacitated(problem, p, cover_s, capacity, method, time_limit_s, mip_rel_gap, t0)
    red = reduce_cover(problem, cover_s)
    if red.w.size == 0 or red.w.sum() <= 0:
        raise InputDataError(
            "没有可由新中心覆盖的居民 (no residents can be newly covered within the budget: all weights are zero, "
            "already covered, or beyond every candidate); 请增加候选点或延长时间预算"
        )
    A, w = red.A, red.w
    At = sparse.csr_array(A.T)
    greedy = _greedy_mclp(A, At, w, p)
    S = _swap_mclp(A, At, w, greedy, p, time.perf_counter() + HEURISTIC_TIME_LIMIT_S)
    best = _mclp_objective(A, w, np.asarray(S, int))
    notes: list[str] = []
    if method == "heuristic":
        bound, _ = _lagrange_mclp(
            A, At, w, p, best, LAGRANGE_ITERATIONS, deadline=time.perf_counter() + HEURISTIC_BOUND_S
        )
        bound = max(bound, best)
        status = "optimal" if bound - best <= mip_rel_gap * max(best, 1.0) else "heuristic"
        chosen_local, objective = np.asarray(S, int), best
    else:
        stats = dict(red.stats)
        left_s = max(time_limit_s - (time.perf_counter() - t0), 1.0)  # the whole solve keeps to the limit
        chosen_local, objective, bound, status = _mclp_exact(A, At, w, p, S, best, left_s, mip_rel_gap, stats)
        red = CoverReduction(
            red.A, red.w, red.row_of, red.cols, red.covered_by_fixed, red.uncoverable, red.weight_fixed, stats
        )
        if status == "time_limit":
            notes.append(f"求解达到时间上限 {time_limit_s:g} s，非最优 (time limit reached: not proven optimal)")
    chosen = np.sort(red.cols[chosen_local])
    return Solution(
        model="mclp",
        method=method,
        status=status,
        chosen=chosen,
        objective=objective + red.weight_fixed,
        bound=bound + red.weight_fixed,
        solve_time_s=time.perf_counter() - t0,
        notes=tuple(notes),
        reduction=red.stats,
    )


def _solve_mclp_capacitated(
    problem: Problem,
    p: int,
    cover_s: float,
    capacity: float,
    method: str,
    time_limit_s: float,
    mip_rel_gap: float,
    t0: float,
) -> Solution:
    """Capacitated MCLP: sites serve at most ``capacity`` weight each, fixed ones too.

    Heuristic: sites by a capacity-aware greedy, then their best assignment (an LP with
    the sites fixed); bound: the uncapacitated MCLP's bound, or the capacity of
    ``p`` + fixed sites, whichever is smaller.  Exact: the MIP, warm-started from it.
    """
    if not (np.isfinite(capacity) and capacity > 0):
        raise InputDataError(f"容量 capacity={capacity} 须为正数 (capacity must be > 0)")
    keep = (problem.time_s <= cover_s) & ~problem.excluded[problem.cand] & (problem.weight[problem.demand] > 0)
    d, c = problem.demand[keep], problem.cand[keep]
    if d.size == 0:
        raise InputDataError("没有可覆盖的居民 (no residents can be covered within the budget)")
    n_c, n_p = problem.n_cand, d.size
    w = problem.weight
    # columns: x (n_c) then y (n_p pairs, share of the point's weight served by the site).
    pair = np.arange(n_p)
    r_dem = sparse.csr_array((np.ones(n_p), (d, n_c + pair)), shape=(problem.n_demand, n_c + n_p))
    r_cap = sparse.csr_array(
        (np.r_[w[d], np.full(n_c, -capacity)], (np.r_[c, np.arange(n_c)], np.r_[n_c + pair, np.arange(n_c)])),
        shape=(n_c, n_c + n_p),
    )
    r_link = sparse.csr_array(
        (np.r_[np.ones(n_p), -np.ones(n_p)], (np.r_[pair, pair], np.r_[n_c + pair, c])), shape=(n_p, n_c + n_p)
    )
    free = problem.free
    r_p = sparse.csr_array(
        (np.ones(int(free.sum())), (np.zeros(int(free.sum()), int), np.flatnonzero(free))), shape=(1, n_c + n_p)
    )
    model = (
        np.r_[np.zeros(n_c), w[d]],
        np.r_[problem.fixed.astype(float), np.zeros(n_p)],
        np.r_[(~problem.excluded).astype(float), np.ones(n_p)],
        np.r_[np.ones(n_c, bool), np.zeros(n_p, bool)],
        sparse.vstack([r_dem, r_cap, r_link, r_p]).tocsr(),
        np.full(problem.n_demand + n_c + n_p + 1, -np.inf),
        np.r_[np.ones(problem.n_demand), np.zeros(n_c), np.zeros(n_p), p],
    )
    sites = _greedy_mclp_capacitated(problem, d, c, capacity, p)
    heur = _assign_fixed_sites(model, problem.fixed | np.isin(np.arange(n_c), sites), n_c, True, time_limit_s)
    try:  # relaxing the capacities: the uncapacitated optimum is at least the capacitated one
        uncapped_bound = solve_mclp(problem, p, cover_s=cover_s, method="heuristic").bound
    except InputDataError:  # fixed sites already reach every coverable resident
        uncapped_bound = np.inf
    total_capacity = capacity * (p + int(problem.fixed.sum()))
    bound = min(uncapped_bound, total_capacity, float(w[np.unique(d)].sum()))
    notes = ["容量模型：一个需求点的居民可分配到多个中心 (residents of a point may be split between centers)"]
    best = _CapResult(sites, heur.x, float(heur.objective), bound, "heuristic", "heuristic")
    best = _finish_capacitated(model, best, method, True, free, time_limit_s - (time.perf_counter() - t0), mip_rel_gap)
    if best.status == "time_limit":
        notes.append(f"求解达到时间上限 {time_limit_s:g} s，非最优 (time limit reached: not proven optimal)")
    share = best.x[n_c:]
    m = share > 1e-9
    return Solution(
        model="mclp+cap",
        method=best.method,
        status=best.status,
        chosen=np.sort(np.asarray(best.chosen, int)),
        objective=best.objective,
        bound=max(best.bound, best.objective),
        solve_time_s=time.perf_counter() - t0,
        notes=tuple(notes),
        assign_share=(d[m], c[m], share[m]),
    )


class _CapResult(NamedTuple):
    chosen: np.ndarray
    x: np.ndarray
    objective: float
    bound: float
    status: str
    method: str


def _finish_capacitated(
    model: tuple,
    best: _CapResult,
    method: str,
    maximize: bool,
    free: np.ndarray,
    left_s: float,
    mip_rel_gap: float,
) -> _CapResult:
    """Exact: the MIP from the heuristic's answer (kept if the MIP finds nothing better), unless
    that answer already meets its bound.  Either method: ``optimal`` once the bound is met."""
    sign = 1.0 if maximize else -1.0

    def proven(r: _CapResult) -> bool:
        return sign * (r.objective - r.bound) >= -mip_rel_gap * max(abs(r.bound), 1.0)

    if method == "exact" and proven(best):  # nothing for the MIP to do
        best = best._replace(method="exact")
    elif method == "exact":
        n_c = free.size
        res = _run_highs(
            *model, maximize=maximize, time_limit_s=max(left_s, 1.0), start=best.x, mip_rel_gap=mip_rel_gap
        )
        bound = best.bound
        if np.isfinite(res.bound):  # the tighter bound either way
            bound = min(bound, res.bound) if maximize else max(bound, res.bound)
        if res.x is not None and sign * res.objective >= sign * best.objective - 1e-9:
            chosen = np.flatnonzero((res.x[:n_c] > 0.5) & free)
            best = _CapResult(chosen, res.x, float(res.objective), bound, res.status, "exact")
        else:
            status = "optimal" if res.status == "optimal" else "time_limit"
            best = best._replace(bound=bound, status=status, method="exact")
    return best._replace(status="optimal") if proven(best) else best


def _assign_fixed_sites(model: tuple, open_mask: np.ndarray, n_c: int, maximize: bool, time_limit_s: float):
    """The best assignment of weight to the open sites under capacities: the model's LP with x fixed."""
    cost, lower, upper, integer, rows, lo, hi = model
    lower, upper = lower.copy(), upper.copy()
    lower[:n_c] = upper[:n_c] = open_mask.astype(float)
    res = _run_highs(
        cost, lower, upper, integer, rows, lo, hi, maximize=maximize, time_limit_s=time_limit_s, relax=True
    )
    if res.x is None:
        raise InputDataError("容量约束下未找到可行方案 (no feasible capacitated assignment found in the time limit)")
    return res


def _greedy_mclp_capacitated(problem: Problem, d: np.ndarray, c: np.ndarray, capacity: float, p: int) -> np.ndarray:
    """Sites one by one by the weight they can still take in (at most ``capacity``).

    Fixed sites take their share first; a chosen site's points lose the part it can
    serve, in proportion.  Returns the chosen free candidates.
    """
    n_c = problem.n_cand
    A = sparse.csc_array((np.ones(d.size), (d, c)), shape=(problem.n_demand, n_c))
    At = sparse.csr_array(A.T)
    left = problem.weight.astype(float).copy()

    def take(j: int) -> None:
        rows = At.indices[At.indptr[j] : At.indptr[j + 1]]
        load = float(left[rows].sum())
        left[rows] *= 0.0 if load <= capacity else 1.0 - capacity / load

    for j in np.flatnonzero(problem.fixed):  # the existing centers: a few dozen at most
        take(int(j))
    open_ok = problem.free.copy()
    chosen: list[int] = []
    for _ in range(p):
        gain = np.minimum(At @ left, capacity)
        gain[~open_ok] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        open_ok[j] = False
        take(j)
    return np.asarray(chosen, int)


# ---------------------------------------------------------------------------- p-median


def _nearest_two(
    d: np.ndarray, c: np.ndarray, t: np.ndarray, open_mask: np.ndarray, n_demand: int, penalty_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per demand point: time to the nearest and second-nearest open site (penalty if none), nearest site."""
    m = open_mask[c]
    dd, cc, tt = d[m], c[m], t[m]
    d1 = np.full(n_demand, float(penalty_s))
    d2 = np.full(n_demand, float(penalty_s))
    c1 = np.full(n_demand, -1, dtype=np.int64)
    if dd.size:
        step_d, step_t = np.diff(dd), np.diff(tt)
        if not ((step_d > 0) | ((step_d == 0) & (step_t >= 0))).all():  # pairs kept sorted by (point, time)
            order = np.lexsort((tt, dd))
            dd, cc, tt = dd[order], cc[order], tt[order]
        first = np.ones(dd.size, bool)
        first[1:] = dd[1:] != dd[:-1]
        f = np.flatnonzero(first)
        use = tt[f] < penalty_s
        d1[dd[f[use]]] = tt[f[use]]
        c1[dd[f[use]]] = cc[f[use]]
        second = f + 1
        ok = second < dd.size
        second = second[ok]
        ok2 = dd[second] == dd[second - 1]
        s2 = second[ok2]
        d2[dd[s2]] = np.minimum(tt[s2], penalty_s)
    return d1, d2, c1


def _pm_cost(prob: Problem, w: np.ndarray, open_mask: np.ndarray, penalty_s: float) -> float:
    d1, _, _ = _nearest_two(prob.demand, prob.cand, prob.time_s, open_mask, prob.n_demand, penalty_s)
    return float(w @ d1)


def _greedy_pmedian(prob: Problem, w: np.ndarray, p: int, penalty_s: float) -> list[int]:
    open_mask = prob.fixed.copy()
    d1, _, _ = _nearest_two(prob.demand, prob.cand, prob.time_s, open_mask, prob.n_demand, penalty_s)
    free = prob.free
    chosen: list[int] = []
    for _ in range(p):
        save = w[prob.demand] * np.maximum(0.0, d1[prob.demand] - prob.time_s)
        gain = np.bincount(prob.cand, weights=save, minlength=prob.n_cand)
        gain[~free | open_mask] = -1.0
        j = int(np.argmax(gain))
        if gain[j] < 0:
            break
        chosen.append(j)
        open_mask[j] = True
        on_j = prob.cand == j
        dj = prob.demand[on_j]
        d1[dj] = np.minimum(d1[dj], prob.time_s[on_j])
    return chosen


def _swap_pmedian(prob: Problem, w: np.ndarray, chosen: list[int], penalty_s: float, deadline: float) -> list[int]:
    """Best-improvement swaps (Resende & Werneck's gain/loss/extra decomposition), vectorised."""
    S = list(chosen)
    d, c, t = prob.demand, prob.cand, prob.time_s
    wd = w[d]
    free = prob.free
    total_w = float(w.sum())
    while S and time.perf_counter() < deadline:
        open_mask = prob.fixed.copy()
        open_mask[S] = True
        d1, d2, c1 = _nearest_two(d, c, t, open_mask, prob.n_demand, penalty_s)
        slot_of = np.full(prob.n_cand, -1, dtype=np.int64)
        slot_of[S] = np.arange(len(S))
        gain = np.bincount(c, weights=wd * np.maximum(0.0, d1[d] - t), minlength=prob.n_cand)
        owner = np.where(c1 >= 0, slot_of[np.clip(c1, 0, None)], -1)
        own = owner >= 0
        loss = np.bincount(owner[own], weights=(w * (d2 - d1))[own], minlength=len(S))
        o = owner[d]
        m = (o >= 0) & (t < d2[d])
        extra = np.bincount(
            c[m] * len(S) + o[m],
            weights=wd[m] * (d2[d[m]] - np.maximum(t[m], d1[d[m]])),
            minlength=prob.n_cand * len(S),
        ).reshape(prob.n_cand, len(S))
        delta = gain[:, None] - loss[None, :] + extra
        delta[~free | open_mask, :] = -np.inf
        j, s = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if not delta[j, s] > 1e-9 * max(1.0, total_w):
            break
        S[s] = int(j)
    return S


def _lagrange_pmedian(
    prob: Problem,
    w: np.ndarray,
    p: int,
    penalty_s: float,
    best: float,
    iterations: int,
    lam0: np.ndarray,
    *,
    deadline: float = np.inf,
    improve=None,
) -> tuple[float, np.ndarray, float, list[int] | None]:
    """Lower bound of the p-median by subgradient optimisation (assignment constraints relaxed).

    ``L = sum_i lambda_i + sum_i min(0, w_i P - lambda_i) + sum_{j fixed} rho_j +
    (sum of the p most negative rho_j of free sites)``, with
    ``rho_j = sum_i min(0, w_i t_ij - lambda_i)``.

    ``improve(sites) -> (cost, sites)``, when given, is run from the subproblem's sites
    every 100 iterations (a Lagrangian heuristic); a better plan lowers ``best`` and the
    step sizes.  Returns (bound, its multipliers, best cost, best plan or None).
    """
    d, c, t = prob.demand, prob.cand, prob.time_s
    wt = w[d] * t
    wp = w * penalty_s
    free = prob.free
    fixed = prob.fixed
    lam = lam0.copy()
    bound, best_lam = -np.inf, lam.copy()
    best_plan = None
    theta = 2.0
    stall = 0
    k = min(p, int(free.sum()))
    for it in range(iterations):
        r = np.minimum(0.0, wt - lam[d])
        rho = np.bincount(c, weights=r, minlength=prob.n_cand)
        rho_free = np.where(free, rho, np.inf)
        pick = np.argpartition(rho_free, k - 1)[:k]
        if improve is not None and it % 100 == 50:
            cost, plan = improve(pick.tolist())
            if cost < best - 1e-9:
                best, best_plan = cost, plan
        pick = pick[rho_free[pick] < 0]
        value = float(lam.sum() + np.minimum(0.0, wp - lam).sum() + rho[fixed].sum() + rho[pick].sum())
        if value > bound + 1e-9:
            bound, best_lam = value, lam.copy()
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                theta /= 2
                stall = 0
        if best - bound <= 1e-7 * max(1.0, abs(best)) or theta < 1e-6 or time.perf_counter() > deadline:
            break
        open_mask = fixed.copy()
        open_mask[pick] = True
        z = open_mask[c] & (wt < lam[d])
        g = 1.0 - np.bincount(d[z], minlength=prob.n_demand) - (wp < lam)
        norm = float(g @ g)
        if norm <= 0:
            break
        lam = np.maximum(0.0, lam + theta * (best - value) / norm * g)
    return bound, best_lam, best, best_plan


def _lagrange_fix_pmedian(prob: Problem, w: np.ndarray, lam: np.ndarray, p: int, penalty_s: float, best: float):
    """Free sites that no plan better than ``best`` can open: forcing one in lifts the bound above ``best``."""
    d, c, t = prob.demand, prob.cand, prob.time_s
    rho = np.bincount(c, weights=np.minimum(0.0, w[d] * t - lam[d]), minlength=prob.n_cand)
    free = prob.free
    rho_free = np.where(free, rho, np.inf)
    k = min(p, int(free.sum()))
    order = np.argsort(rho_free, kind="stable")
    vals = np.minimum(rho_free[order[:k]], 0.0)
    base = float(lam.sum() + np.minimum(0.0, w * penalty_s - lam).sum() + rho[prob.fixed].sum() + vals.sum())
    kth = float(vals[-1]) if k else 0.0
    forced = base - kth + np.minimum(rho, 0.0)
    in_top = np.zeros(prob.n_cand, bool)
    in_top[order[:k]] = True
    return free & ~in_top & (forced >= best - 1e-9 * max(1.0, abs(best)))


def solve_pmedian(
    problem: Problem,
    p: int,
    *,
    penalty_s: float,
    method: str = "exact",
    capacity: float | None = None,
    time_limit_s: float = MIP_TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
) -> Solution:
    """p-median: ``p`` new sites minimising the total weighted time to the nearest open site.

    Pairs beyond the cutoff (absent from ``problem``) cost ``penalty_s``.

    Raises
    ------
    InputDataError
        ``p`` not positive or larger than the free candidates, all weights zero, penalty
        shorter than a time in the pairs, unknown method.
    """
    t0 = time.perf_counter()
    _check_p(p, int(problem.free.sum()), "p-median")
    if method not in ("exact", "heuristic"):
        raise InputDataError(f"求解方法 {method!r} 无效 (method must be 'exact' or 'heuristic')")
    w = problem.weight
    if w.sum() <= 0:
        raise InputDataError("所有需求点权重为零 (all demand weights are zero: nothing to allocate)")
    if problem.time_s.size and penalty_s < problem.time_s.max():
        raise InputDataError(
            f"超出时限的惩罚时间 {penalty_s:g} s 短于可达时间 {problem.time_s.max():g} s "
            "(penalty must be >= every time)"
        )
    # Reduction: pairs to excluded sites, and points of zero weight, play no role.
    keep = ~problem.excluded[problem.cand] & (w[problem.demand] > 0)
    keep = np.flatnonzero(keep)
    keep = keep[np.lexsort((problem.time_s[keep], problem.demand[keep]))]  # by (point, time): no sort per swap
    prob = Problem(
        problem.n_demand,
        problem.n_cand,
        problem.demand[keep],
        problem.cand[keep],
        problem.time_s[keep],
        w,
        problem.fixed,
        problem.excluded,
    )
    if capacity is not None:
        return _solve_pmedian_capacitated(prob, p, penalty_s, capacity, method, time_limit_s, mip_rel_gap, t0)
    greedy = _greedy_pmedian(prob, w, p, penalty_s)
    S = _swap_pmedian(prob, w, greedy, penalty_s, time.perf_counter() + HEURISTIC_TIME_LIMIT_S)
    open_mask = prob.fixed.copy()
    open_mask[S] = True
    d1, _, _ = _nearest_two(prob.demand, prob.cand, prob.time_s, open_mask, prob.n_demand, penalty_s)
    best = float(w @ d1)
    notes: list[str] = []
    stats = {
        "pairs": int(prob.demand.size),
        "demand_points": int(prob.n_demand),
        "candidates_free": int(prob.free.sum()),
    }
    deadline = t0 + time_limit_s

    def improve(sites: list[int]) -> tuple[float, list[int]]:
        plan = _swap_pmedian(prob, w, sites, penalty_s, min(deadline, time.perf_counter() + 2.0))
        om = prob.fixed.copy()
        om[plan] = True
        return _pm_cost(prob, w, om, penalty_s), plan

    if method == "heuristic":
        bound, _, _, _ = _lagrange_pmedian(
            prob, w, p, penalty_s, best, LAGRANGE_ITERATIONS, w * d1, deadline=time.perf_counter() + HEURISTIC_BOUND_S
        )
        bound = min(bound, best)
        status = "optimal" if best - bound <= mip_rel_gap * max(best, 1.0) else "heuristic"
        chosen, objective = np.asarray(S, int), best
    elif prob.demand.size <= PMEDIAN_DIRECT_MIP_PAIRS:
        res, chosen_x = _pmedian_mip(prob, w, p, penalty_s, S, time_limit_s, mip_rel_gap)
        chosen, objective = np.asarray(S, int), best
        if chosen_x is not None:
            om = prob.fixed.copy()
            om[chosen_x] = True
            obj = _pm_cost(prob, w, om, penalty_s)
            if obj <= best + 1e-9:
                chosen, objective = chosen_x, obj
        bound = min(res.bound if np.isfinite(res.bound) else 0.0, objective)
        status = "optimal" if objective - bound <= mip_rel_gap * max(abs(objective), 1.0) else "time_limit"
        if status == "time_limit":
            notes.append(f"求解达到时间上限 {time_limit_s:g} s，非最优 (time limit reached: not proven optimal)")
    else:
        lag_deadline = t0 + 0.6 * time_limit_s
        bound, lam, ub, plan = _lagrange_pmedian(
            prob, w, p, penalty_s, best, 4 * LAGRANGE_ITERATIONS, w * d1, deadline=lag_deadline, improve=improve
        )
        if plan is not None and ub < best:
            S, best = plan, ub
        chosen, objective = np.asarray(S, int), best
        status = "optimal" if best - bound <= mip_rel_gap * max(best, 1.0) else "time_limit"
        fix0 = _lagrange_fix_pmedian(prob, w, lam, p, penalty_s, best)
        stats["lagrange_fixed_out"] = int(fix0.sum())
        if status != "optimal" and fix0.sum() >= 0.5 * prob.free.sum():
            keep = ~fix0[prob.cand]
            sub = Problem(
                prob.n_demand,
                prob.n_cand,
                prob.demand[keep],
                prob.cand[keep],
                prob.time_s[keep],
                w,
                prob.fixed,
                prob.excluded | fix0,
            )
            stats["mip_pairs"] = int(keep.sum())
            left = max(deadline - time.perf_counter(), 1.0)
            res, chosen_x = _pmedian_mip(sub, w, p, penalty_s, S, left, mip_rel_gap)
            if chosen_x is not None:
                om = prob.fixed.copy()
                om[chosen_x] = True
                obj = _pm_cost(prob, w, om, penalty_s)
                if obj < objective - 1e-9:
                    chosen, objective = chosen_x, obj
            if np.isfinite(res.bound):  # plans outside the sub-problem cost at least ``best``
                bound = max(bound, min(res.bound, best))
            bound = min(bound, objective)
            status = "optimal" if objective - bound <= mip_rel_gap * max(abs(objective), 1.0) else "time_limit"
        if status == "time_limit":
            notes.append(f"求解达到时间上限 {time_limit_s:g} s，非最优 (time limit reached: not proven optimal)")
    return Solution(
        model="pmedian",
        method=method,
        status=status,
        chosen=np.sort(np.asarray(chosen, int)),
        objective=objective,
        bound=bound,
        solve_time_s=time.perf_counter() - t0,
        notes=tuple(notes),
        reduction=stats,
    )


def _pmedian_rows(prob: Problem, w: np.ndarray, p: int, penalty_s: float, capacity: float | None):
    """Columns x (n_c), z (pairs), u (n_demand); rows: assignment, linking, count, capacity."""
    n_c, n_d = prob.n_cand, prob.n_demand
    d, c, t = prob.demand, prob.cand, prob.time_s
    n_p = d.size
    pair = np.arange(n_p)
    zc = n_c + pair
    uc = n_c + n_p + np.arange(n_d)
    n = n_c + n_p + n_d
    r_assign = sparse.csr_array((np.ones(n_p + n_d), (np.r_[d, np.arange(n_d)], np.r_[zc, uc])), shape=(n_d, n))
    r_link = sparse.csr_array((np.r_[np.ones(n_p), -np.ones(n_p)], (np.r_[pair, pair], np.r_[zc, c])), shape=(n_p, n))
    free = np.flatnonzero(prob.free)
    r_p = sparse.csr_array((np.ones(free.size), (np.zeros(free.size, int), free)), shape=(1, n))
    blocks = [r_assign, r_link, r_p]
    lo = [np.ones(n_d), np.full(n_p, -np.inf), [-np.inf]]
    hi = [np.ones(n_d), np.zeros(n_p), [p]]
    if capacity is not None:
        r_cap = sparse.csr_array(
            (np.r_[w[d], np.full(n_c, -capacity)], (np.r_[c, np.arange(n_c)], np.r_[zc, np.arange(n_c)])),
            shape=(n_c, n),
        )
        blocks.append(r_cap)
        lo.append(np.full(n_c, -np.inf))
        hi.append(np.zeros(n_c))
    rows = sparse.vstack(blocks).tocsr()
    cost = np.r_[np.zeros(n_c), w[d] * t, w * penalty_s]
    lower = np.zeros(n)
    upper = np.ones(n)
    lower[:n_c][prob.fixed] = 1.0
    upper[:n_c][prob.excluded] = 0.0
    integer = np.r_[np.ones(n_c, bool), np.zeros(n_p + n_d, bool)]
    return cost, lower, upper, integer, rows, np.concatenate(lo), np.concatenate(hi)


def _pmedian_mip(prob, w, p, penalty_s, S, time_limit_s, mip_rel_gap):
    model = _pmedian_rows(prob, w, p, penalty_s, None)
    n_c, n_p = prob.n_cand, prob.demand.size
    open_mask = prob.fixed.copy()
    open_mask[S] = True
    d1, _, c1 = _nearest_two(prob.demand, prob.cand, prob.time_s, open_mask, prob.n_demand, penalty_s)
    start = np.zeros(model[0].size)
    start[:n_c] = open_mask
    # the pair (i, c1_i) of every assigned point; penalty column otherwise
    hit = (c1[prob.demand] == prob.cand) & (prob.time_s == d1[prob.demand])
    first = np.zeros(n_p, bool)
    idx = np.flatnonzero(hit)
    _, f = np.unique(prob.demand[idx], return_index=True)
    first[idx[f]] = True
    start[n_c : n_c + n_p] = first
    start[n_c + n_p :] = c1 < 0
    res = _run_highs(*model, maximize=False, time_limit_s=time_limit_s, start=start, mip_rel_gap=mip_rel_gap)
    chosen = None if res.x is None else np.flatnonzero((res.x[:n_c] > 0.5) & prob.free)
    return res, chosen


def _solve_pmedian_capacitated(
    prob: Problem,
    p: int,
    penalty_s: float,
    capacity: float,
    method: str,
    time_limit_s: float,
    mip_rel_gap: float,
    t0: float,
) -> Solution:
    """Capacitated p-median: the uncapacitated heuristic's sites with their best capacitated
    assignment (an LP), bounded by the uncapacitated bound; exact: the MIP warm-started from it."""
    if not (np.isfinite(capacity) and capacity > 0):
        raise InputDataError(f"容量 capacity={capacity} 须为正数 (capacity must be > 0)")
    w = prob.weight
    model = _pmedian_rows(prob, w, p, penalty_s, capacity)
    n_c = prob.n_cand
    uncapped = solve_pmedian(prob, p, penalty_s=penalty_s, method="heuristic")
    heur = _assign_fixed_sites(model, prob.fixed | np.isin(np.arange(n_c), uncapped.chosen), n_c, False, time_limit_s)
    bound = max(uncapped.bound, _capacity_bound_pmedian(prob, w, penalty_s, capacity * (p + int(prob.fixed.sum()))))
    best = _CapResult(uncapped.chosen, heur.x, float(heur.objective), bound, "heuristic", "heuristic")
    left_s = time_limit_s - (time.perf_counter() - t0)
    best = _finish_capacitated(model, best, method, False, prob.free, left_s, mip_rel_gap)
    notes = [
        "容量模型：一个需求点的居民可分配到多个中心，超出容量者计惩罚时间 "
        "(residents may be split; those beyond every capacity count the penalty time)"
    ]
    if best.status == "time_limit":
        notes.append(f"求解达到时间上限 {time_limit_s:g} s，非最优 (time limit reached: not proven optimal)")
    n_p = prob.demand.size
    share = best.x[n_c : n_c + n_p]
    m = share > 1e-9
    return Solution(
        model="pmedian+cap",
        method=best.method,
        status=best.status,
        chosen=np.sort(np.asarray(best.chosen, int)),
        objective=best.objective,
        bound=min(best.bound, best.objective),
        solve_time_s=time.perf_counter() - t0,
        notes=tuple(notes),
        assign_share=(prob.demand[m], prob.cand[m], share[m]),
    )


def _capacity_bound_pmedian(prob: Problem, w: np.ndarray, penalty_s: float, total_capacity: float) -> float:
    """Lower bound of the capacitated p-median: at most ``total_capacity`` weight is served.

    A served resident walks at least to the nearest candidate; the rest count the
    penalty.  Serving those who save the most first (a fractional knapsack) is the
    least any plan can cost.
    """
    nearest = np.full(prob.n_demand, float(penalty_s))
    np.minimum.at(nearest, prob.demand, prob.time_s)
    order = np.argsort(nearest, kind="stable")  # the biggest saving (penalty - nearest) first
    served = np.clip(total_capacity - np.r_[0.0, np.cumsum(w[order])[:-1]], 0.0, w[order])
    return float(penalty_s * w.sum() - served @ (penalty_s - nearest[order]))


# ---------------------------------------------------------------------------- LSCP


def _greedy_cover(At: sparse.csr_array, w: np.ndarray, need: float, n_rows: int) -> list[int]:
    """Greedy cover until ``need`` weight is covered, then drop redundant sites (vectorised)."""
    covered = np.zeros(n_rows, bool)
    chosen: list[int] = []
    got = 0.0
    while got < need - 1e-9:
        gain = At @ np.where(covered, 0.0, w)
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        rows = At.indices[At.indptr[j] : At.indptr[j + 1]]
        got += float(w[rows[~covered[rows]]].sum())
        covered[rows] = True
    return _drop_redundant(At, w, chosen, need, n_rows)


def _drop_redundant(At: sparse.csr_array, w: np.ndarray, chosen: list[int], need: float, n_rows: int) -> list[int]:
    """Remove sites whose rows stay covered (or the share stays met) without them, the last first."""
    count = np.zeros(n_rows, np.int64)
    for j in chosen:
        count[At.indices[At.indptr[j] : At.indptr[j + 1]]] += 1
    got = float(w[count > 0].sum())
    keep = list(chosen)
    for j in reversed(chosen):
        rows = At.indices[At.indptr[j] : At.indptr[j + 1]]
        lost = float(w[rows[count[rows] == 1]].sum())
        if got - lost >= need - 1e-9:
            count[rows] -= 1
            got -= lost
            keep.remove(j)
    return keep


def _reduce_set_cover(A: sparse.csr_array) -> tuple[sparse.csr_array, np.ndarray, np.ndarray, dict]:
    """Full set cover: essential columns, dominated rows and columns, until nothing changes.

    Returns the reduced matrix, the original column of each kept column, the columns
    forced in, and counts.
    """
    cols = np.arange(A.shape[1])
    forced: list[int] = []
    stats = {"rows_dominated": 0, "cols_dominated": 0, "cols_essential": 0}
    A = A.tocsr()
    for _ in range(20):
        size = np.diff(A.indptr)
        single = np.flatnonzero(size == 1)
        essential = np.unique(A.indices[A.indptr[single]]) if single.size else np.zeros(0, int)
        if essential.size:
            forced.extend(cols[essential].tolist())
            hit = np.asarray(A[:, essential].sum(axis=1)).ravel() > 0
            A = A[~hit]
            keep = np.ones(A.shape[1], bool)
            keep[essential] = False
            A, cols = A[:, keep].tocsr(), cols[keep]
            stats["cols_essential"] += int(essential.size)
        rd = dominated_rows(A) if A.shape[0] else np.zeros(0, bool)
        A = A[~rd].tocsr()
        used = np.diff(A.tocsc().indptr) > 0
        cd = _dominated(A) | ~used if A.shape[0] else np.ones(A.shape[1], bool)
        A, cols = A[:, ~cd].tocsr(), cols[~cd]
        stats["rows_dominated"] += int(rd.sum())
        stats["cols_dominated"] += int(cd.sum())
        if not (essential.size or rd.any() or cd.any()):
            break
    return A, cols, np.asarray(forced, int), stats


def set_cover_model(rows: sparse.csr_array) -> tuple:
    """Unicost set covering for :func:`_run_highs`: binary columns, every row covered at least once."""
    n_r, n_c = rows.shape
    return np.ones(n_c), np.zeros(n_c), np.ones(n_c), np.ones(n_c, bool), rows, np.ones(n_r), np.full(n_r, np.inf)


def _lagrange_cover(A: sparse.csr_array, At: sparse.csr_array, best: float, *, deadline: float) -> float:
    """Lower bound of unicost set covering by subgradient optimisation (Beasley 1990).

    Relaxing every row ``sum_j a_ij x_j >= 1`` with ``u_i >= 0``:
    ``L(u) = sum_i u_i + sum_j min(0, 1 - (A^T u)_j)``, at most the LP optimum.
    """
    size = np.diff(At.indptr).astype(float)
    u = np.asarray((A.multiply(1.0 / size[None, :])).max(axis=1).todense()).ravel()  # cheapest share per row
    bound, theta, stall = 0.0, 2.0, 0
    for _ in range(LAGRANGE_ITERATIONS):
        rc = 1.0 - At @ u
        value = float(u.sum() + np.minimum(rc, 0.0).sum())
        if value > bound + 1e-9:
            bound, stall = value, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        if np.ceil(bound - 1e-6) >= best or theta < 1e-4 or time.perf_counter() > deadline:
            break
        g = 1.0 - A @ (rc < 0).astype(float)
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm <= 0:  # the relaxed solution is a cover: the bound is the optimum
            break
        u = np.maximum(u + theta * (best - value) / norm * g, 0.0)
    return bound


def _set_cover_exact(
    A: sparse.csr_array, method: str, time_limit_s: float, mip_rel_gap: float, stats: dict, t_start: float
) -> tuple[np.ndarray, float, str]:
    """Fewest columns covering every row: reductions, greedy, LP bound, local search, MIP.

    ``t_start`` is when the whole solve began (the heuristic's budget counts from it).
    Returns (columns chosen, proven lower bound, status).
    """
    t0 = time.perf_counter()
    A, cols, forced, red_stats = _reduce_set_cover(A)
    stats.update(red_stats)
    n_r, n_c = A.shape
    if n_r == 0:
        return forced, float(forced.size), "optimal"
    At = sparse.csr_array(A.T)
    ones = np.ones(n_r)
    cover_rows = sparse.csr_array(A.astype(float))
    lp_limit_s = max(time_limit_s - (time.perf_counter() - t0), 1.0)
    if method == "heuristic":
        deadline = t_start + settings.PLACEMENT_LSCP_HEURISTIC_S
        lp_limit_s = min(lp_limit_s, 2 * settings.PLACEMENT_LSCP_HEURISTIC_S)
    else:
        deadline = time.perf_counter() + settings.PLACEMENT_LSCP_SEARCH_SHARE * time_limit_s
    start = np.asarray(_greedy_cover(At, ones, float(n_r), n_r), int)
    searches = [CoverSearch(A, start, seed=0), CoverSearch(A, start, seed=1)]
    lb_shared = [1.0]  # the LP's bound once known: both searches stop when they reach it
    stop = threading.Event()

    def run_second() -> None:
        while not stop.is_set() and time.perf_counter() < deadline and searches[1].best_size > lb_shared[0]:
            searches[1].run(CHUNK_STEPS)

    t_search = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Two cores: the LP bound (HiGHS releases the GIL) and then a second search run
        # on one, the local search (numba, GIL released too) on the other.
        lp_future = pool.submit(
            _run_highs,
            *set_cover_model(cover_rows),
            maximize=False,
            time_limit_s=lp_limit_s,
            relax=True,
            lp_solver="ipm",
        )
        pool.submit(run_second)
        while time.perf_counter() < deadline and min(x.best_size for x in searches) > lb_shared[0]:
            searches[0].run(CHUNK_STEPS)
            if lp_future.done() and lp_future.result().status == "optimal":
                lb_shared[0] = float(np.ceil(lp_future.result().objective - 1e-6))
        stop.set()
        lp = lp_future.result()
    search = min(searches, key=lambda x: x.best_size)
    stats["search_s"] = round(time.perf_counter() - t_search, 3)
    stats["search_steps"] = sum(x.steps for x in searches)
    S = search.best.tolist()
    if lp.status == "optimal":
        lb = float(np.ceil(lp.objective - 1e-6))
    else:  # the LP ran out of time: the (weaker) Lagrangian bound
        lb = float(np.ceil(_lagrange_cover(A, At, len(S), deadline=time.perf_counter() + HEURISTIC_BOUND_S) - 1e-6))
    status = "optimal" if len(S) <= lb else "heuristic"
    if method == "exact" and status != "optimal":
        keep = np.ones(n_c, bool)
        if lp.row_dual is not None:  # reduced-cost fixing: a better plan has at most |S| - 1 sites
            u = np.clip(lp.row_dual[:n_r], 0.0, None)
            rc = 1.0 - At @ u
            lag = float(u.sum() + np.minimum(rc, 0).sum())
            keep = ~(lag + np.maximum(rc, 0) > len(S) - 1 + 1e-6)
            keep[S] = True
            stats["cols_fixed_out"] = int((~keep).sum())
        sub = cover_rows[:, np.flatnonzero(keep)].tocsr()
        kc = np.flatnonzero(keep)
        start = np.isin(kc, S).astype(float)
        left = max(time_limit_s - (time.perf_counter() - t0) - _FINISH_S, 1.0)
        res = _run_highs(*set_cover_model(sub), maximize=False, time_limit_s=left, start=start, mip_rel_gap=mip_rel_gap)
        if res.x is not None and res.objective < len(S) - 0.5:
            S = kc[_binary_pick(res.x)].tolist()
        if np.isfinite(res.bound):
            lb = max(lb, float(np.ceil(min(res.bound, len(S)) - 1e-6)))
        status = "optimal" if len(S) <= lb else "time_limit"
    chosen = np.r_[forced, cols[np.asarray(S, int)]].astype(int)
    return chosen, lb + forced.size, status


def solve_lscp(
    problem: Problem,
    *,
    cover_s: float,
    share: float = 1.0,
    method: str = "exact",
    time_limit_s: float = MIP_TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
) -> Solution:
    """Set covering: the fewest new sites covering every coverable point, or ``share`` of all weight.

    ``share`` counts the weight already covered by fixed sites.  With ``share == 1``
    every point that some candidate (or fixed site) reaches is covered; points no
    candidate reaches are reported in the reduction statistics, not an error.

    Raises
    ------
    InputDataError
        ``share`` outside (0, 1], a share larger than the coverable weight, no demand.
    """
    t0 = time.perf_counter()
    if not (0 < share <= 1):
        raise InputDataError(f"覆盖比例 share={share} 应在 (0, 1] 之间 (target share must be in (0, 1])")
    if method not in ("exact", "heuristic"):
        raise InputDataError(f"求解方法 {method!r} 无效 (method must be 'exact' or 'heuristic')")
    red = reduce_cover(problem, cover_s)
    total = float(problem.weight.sum())
    if total <= 0:
        raise InputDataError("所有需求点权重为零 (all demand weights are zero: nothing to cover)")
    A, w = red.A, red.w
    full = share >= 1.0
    need = float(w.sum()) if full else share * total - red.weight_fixed
    coverable = float(w.sum()) + red.weight_fixed
    if not full and share * total > coverable + 1e-9:
        raise InputDataError(
            f"目标覆盖率 {share:.0%} 不可达：候选点最多覆盖 {coverable / total:.1%} 的居民 "
            f"(target share infeasible: candidates reach at most {coverable / total:.1%})"
        )
    notes: list[str] = []
    if red.stats["points_uncoverable"]:
        notes.append(
            f"{red.stats['points_uncoverable']} 个需求点无候选点可覆盖 (points no candidate can cover; not counted)"
        )
    if need <= 1e-9:
        return Solution(
            "lscp",
            method,
            "optimal",
            np.zeros(0, int),
            0.0,
            0.0,
            time.perf_counter() - t0,
            tuple(notes),
            reduction=red.stats,
        )
    stats = dict(red.stats)
    if full:
        left_s = max(time_limit_s - (time.perf_counter() - t0), 1.0)  # the whole solve keeps to the limit
        chosen_local, bound, status = _set_cover_exact(A, method, left_s, mip_rel_gap, stats, t0)
        objective = float(chosen_local.size)
    else:
        chosen_local, objective, bound, status = _share_cover(A, w, need, method, time_limit_s, mip_rel_gap)
    if status == "time_limit":
        notes.append(f"求解达到时间上限 {time_limit_s:g} s，非最优 (time limit reached: not proven optimal)")
    red = CoverReduction(
        red.A, red.w, red.row_of, red.cols, red.covered_by_fixed, red.uncoverable, red.weight_fixed, stats
    )
    return Solution(
        model="lscp",
        method=method,
        status=status,
        chosen=np.sort(red.cols[chosen_local]),
        objective=objective,
        bound=bound,
        solve_time_s=time.perf_counter() - t0,
        notes=tuple(notes),
        reduction=red.stats,
    )


def _share_cover(
    A: sparse.csr_array, w: np.ndarray, need: float, method: str, time_limit_s: float, mip_rel_gap: float
) -> tuple[np.ndarray, float, float, str]:
    """Fewest columns covering ``need`` weight: greedy, LP bound, MIP."""
    n_r, n_c = A.shape
    At = sparse.csr_array(A.T)
    S = _greedy_cover(At, w, need, n_r)
    # columns: x (sites) then y (row covered); y_i <= sum of its sites, sum w y >= need
    rows = sparse.vstack(
        [
            sparse.hstack([-sparse.csr_array(A.astype(float)), sparse.eye_array(n_r, format="csr")]),
            sparse.hstack([sparse.csr_array((1, n_c)), sparse.csr_array(w[None, :])]),
        ]
    ).tocsr()
    model = (
        np.r_[np.ones(n_c), np.zeros(n_r)],
        np.zeros(n_c + n_r),
        np.ones(n_c + n_r),
        np.r_[np.ones(n_c, bool), np.zeros(n_r, bool)],
        rows,
        np.r_[np.full(n_r, -np.inf), need],
        np.r_[np.zeros(n_r), np.inf],
    )
    if method == "heuristic":
        lp = _run_highs(*model, maximize=False, time_limit_s=HEURISTIC_TIME_LIMIT_S, relax=True, lp_solver="ipm")
        bound = float(np.ceil(lp.objective - 1e-6)) if lp.status == "optimal" else 1.0
        status = "optimal" if len(S) <= bound else "heuristic"
        return np.asarray(S, int), float(len(S)), bound, status
    start = np.zeros(n_c + n_r)
    start[S] = 1
    start[n_c:] = np.asarray(A[:, S].sum(axis=1)).ravel() > 0 if S else 0
    res = _run_highs(*model, maximize=False, time_limit_s=time_limit_s, start=start, mip_rel_gap=mip_rel_gap)
    chosen = _binary_pick(res.x[:n_c]) if res.x is not None and res.objective <= len(S) + 1e-9 else np.asarray(S, int)
    bound = min(float(np.ceil(res.bound - 1e-6)) if np.isfinite(res.bound) else 1.0, float(chosen.size))
    status = "optimal" if chosen.size <= bound else "time_limit"
    return chosen, float(chosen.size), bound, status
