"""Maximal covering (MCLP), plain and capacitated: greedy + swaps with a Lagrangian bound, exact MIP.

``sum x <= p`` instead of ``= p``: coverage never falls with more sites, so the optimum is the
same, and it makes dropping dominated candidates safe.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy import sparse

from geo.errors import InputDataError
from geo.placement.highs import CapResult, MipResult, assign_fixed_sites, binary_pick, finish_capacitated, run_highs
from geo.placement.problem import (
    EPS,
    FINISH_S,
    HEURISTIC_BOUND_S,
    HEURISTIC_TIME_LIMIT_S,
    LAGRANGE_ITERATIONS,
    MIP_REL_GAP,
    MIP_TIME_LIMIT_S,
    CoverReduction,
    Problem,
    Solution,
    check_p,
    proven_status,
    reduce_cover,
    time_limit_notes,
)

logger = logging.getLogger(__name__)

__all__ = ["solve_mclp"]

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
        if gain[j] <= EPS:
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
            if add_gain[j] > EPS:
                S.append(j)
                continue
        single = np.flatnonzero(count == 1)
        owner = AS.indices[AS.indptr[single]]
        loss = np.bincount(owner, weights=w[single], minlength=len(S))
        M = sparse.csr_array((w[single], (single, owner)), shape=(n_rows, len(S)))
        extra = (At @ M).toarray() if single.size else np.zeros((n_cols, len(S)))
        delta = add_gain[:, None] - loss[None, :] + extra
        j, s = (int(k) for k in np.unravel_index(int(np.argmax(delta)), delta.shape))
        if not delta[j, s] > EPS * max(1.0, float(w.sum())):
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


def _lp_mclp(
    A: sparse.csr_array, w: np.ndarray, p: int, time_limit_s: float
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """The LP relaxation (interior point + crossover): multipliers of the coverage rows and the sites' x.

    The LP's duals are the best Lagrangian multipliers: their bound equals the LP bound,
    and they fix the most columns.  Its x, rounded, is often the optimum itself (the
    covering LP of the benchmark's 500 candidates has an integral optimum).  HiGHS's
    simplex stalls on this LP (degenerate); the interior-point method solves it in seconds.
    """
    n_r, n_c = A.shape
    rows = sparse.vstack(
        [
            sparse.hstack([-sparse.csr_array(A.astype(float)), sparse.eye_array(n_r, format="csr")]),
            sparse.hstack([sparse.csr_array(np.ones((1, n_c))), sparse.csr_array((1, n_r))]),
        ]
    ).tocsr()
    res = run_highs(
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
    if res.row_dual is None or res.x is None:
        return None, None
    return np.clip(np.abs(res.row_dual[:n_r]), 0.0, w), res.x[:n_c]


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
) -> MipResult:
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
    return run_highs(
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
        mip_lp_solver="ipm",  # the covering LP is degenerate: simplex 1.15 s, IPM 0.3 s at 27,000 nonzeros
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
    """LP bound and LP rounding, variable fixing, a second reduction, then HiGHS on what is left.

    Returns (columns of ``A`` chosen, objective, proven upper bound, status).  Every
    plan better than the incumbent ``S`` lies in the fixed sub-problem, so the bound
    is ``max(incumbent, sub-problem bound + fixed coverage)``.
    """
    t0 = time.perf_counter()
    tol = mip_rel_gap * max(abs(best), 1.0)
    S_arr = np.asarray(S, int)
    lam, x_lp = _lp_mclp(A, w, p, time_limit_s)
    if lam is None or x_lp is None:  # the LP did not finish: subgradient multipliers instead
        lag, lam = _lagrange_mclp(A, At, w, p, best, LAGRANGE_ITERATIONS)
    else:
        lag = _lagrange_value_mclp(At, w, lam, p)
        # LP rounding: the p largest x, then swaps; a better incumbent fixes more columns
        # below, and one that meets the bound needs no MIP at all.
        k = min(p, int((x_lp > 1e-6).sum()))
        if k and lag - best > tol:
            top = np.argsort(-x_lp, kind="stable")[:k]
            S_lp = _swap_mclp(A, At, w, top.tolist(), p, time.perf_counter() + HEURISTIC_TIME_LIMIT_S)
            obj_lp = _mclp_objective(A, w, np.asarray(S_lp, int))
            stats["lp_rounding"] = obj_lp
            if obj_lp > best:
                S, S_arr, best = S_lp, np.asarray(S_lp, int), obj_lp
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
    left = max(time_limit_s - (time.perf_counter() - t0) - FINISH_S, 1.0)
    res = _mclp_mip(A2, red.w, p2, S2, left, mip_rel_gap)
    sub_bound = (res.bound if np.isfinite(res.bound) else float(red.w.sum())) + red.weight_fixed
    if res.x is not None:
        cols = np.r_[fixed_cols, red.cols[binary_pick(res.x[: A2.shape[1]])]].astype(int)
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
    check_p(p, int(problem.free.sum()), "MCLP")
    if method not in ("exact", "heuristic"):
        raise InputDataError(f"求解方法 {method!r} 无效 (method must be 'exact' or 'heuristic')")
    if capacity is not None:
        return _solve_mclp_capacitated(problem, p, cover_s, capacity, method, time_limit_s, mip_rel_gap, t0)
    red = reduce_cover(problem, cover_s)
    if red.w.size == 0 or red.w.sum() <= 0:
        raise InputDataError(
            "没有可由新中心覆盖的居民 (no residents can be newly covered within the budget: all weights are zero, "
            "already covered, or beyond every candidate); 请增加候选点或延长步行时间阈值"
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
        status = proven_status(best, bound, mip_rel_gap, "heuristic", maximize=True)
        chosen_local, objective = np.asarray(S, int), best
    else:
        stats = dict(red.stats)
        left_s = max(time_limit_s - (time.perf_counter() - t0), 1.0)  # the whole solve keeps to the limit
        chosen_local, objective, bound, status = _mclp_exact(A, At, w, p, S, best, left_s, mip_rel_gap, stats)
        red = CoverReduction(
            red.A, red.w, red.row_of, red.cols, red.covered_by_fixed, red.uncoverable, red.weight_fixed, stats
        )
        notes += time_limit_notes(status, time_limit_s)
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
    heur = assign_fixed_sites(model, problem.fixed | np.isin(np.arange(n_c), sites), n_c, True, time_limit_s)
    try:  # relaxing the capacities: the uncapacitated optimum is at least the capacitated one
        uncapped_bound = solve_mclp(problem, p, cover_s=cover_s, method="heuristic").bound
    except InputDataError:  # fixed sites already reach every coverable resident
        uncapped_bound = np.inf
    total_capacity = capacity * (p + int(problem.fixed.sum()))
    bound = min(uncapped_bound, total_capacity, float(w[np.unique(d)].sum()))
    notes = ["容量模型：一个需求点的居民可分配到多个中心 (residents of a point may be split between centers)"]
    best = CapResult(sites, heur.x, float(heur.objective), bound, "heuristic", "heuristic")
    best = finish_capacitated(model, best, method, True, free, time_limit_s - (time.perf_counter() - t0), mip_rel_gap)
    notes += time_limit_notes(best.status, time_limit_s)
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

    for fixed_j in np.flatnonzero(problem.fixed):  # the existing centers: a few dozen at most
        take(int(fixed_j))
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
