"""p-median, plain and capacitated: greedy + vertex-substitution swaps with a Lagrangian bound and
variable fixing, exact MIP on small instances or after fixing.

A demand point with no open site within the cutoff counts the penalty time.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy import sparse

from geo.errors import InputDataError
from geo.placement.highs import CapResult, assign_fixed_sites, finish_capacitated, run_highs
from geo.placement.problem import (
    HEURISTIC_BOUND_S,
    HEURISTIC_TIME_LIMIT_S,
    LAGRANGE_ITERATIONS,
    MIP_REL_GAP,
    MIP_TIME_LIMIT_S,
    PMEDIAN_DIRECT_MIP_PAIRS,
    Problem,
    Solution,
    check_p,
    proven_status,
    time_limit_notes,
)

logger = logging.getLogger(__name__)

__all__ = ["solve_pmedian"]

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
    check_p(p, int(problem.free.sum()), "p-median")
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
        status = proven_status(best, bound, mip_rel_gap, "heuristic", maximize=False)
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
        status = proven_status(objective, bound, mip_rel_gap, "time_limit", maximize=False)
        notes += time_limit_notes(status, time_limit_s)
    else:
        lag_deadline = t0 + 0.6 * time_limit_s
        bound, lam, ub, plan = _lagrange_pmedian(
            prob, w, p, penalty_s, best, 4 * LAGRANGE_ITERATIONS, w * d1, deadline=lag_deadline, improve=improve
        )
        if plan is not None and ub < best:
            S, best = plan, ub
        chosen, objective = np.asarray(S, int), best
        status = proven_status(best, bound, mip_rel_gap, "time_limit", maximize=False)
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
            status = proven_status(objective, bound, mip_rel_gap, "time_limit", maximize=False)
        notes += time_limit_notes(status, time_limit_s)
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
    lo = [np.ones(n_d), np.full(n_p, -np.inf), np.array([-np.inf])]
    hi = [np.ones(n_d), np.zeros(n_p), np.array([float(p)])]
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
    res = run_highs(*model, maximize=False, time_limit_s=time_limit_s, start=start, mip_rel_gap=mip_rel_gap)
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
    heur = assign_fixed_sites(model, prob.fixed | np.isin(np.arange(n_c), uncapped.chosen), n_c, False, time_limit_s)
    bound = max(uncapped.bound, _capacity_bound_pmedian(prob, w, penalty_s, capacity * (p + int(prob.fixed.sum()))))
    best = CapResult(uncapped.chosen, heur.x, float(heur.objective), bound, "heuristic", "heuristic")
    left_s = time_limit_s - (time.perf_counter() - t0)
    best = finish_capacitated(model, best, method, False, prob.free, left_s, mip_rel_gap)
    notes = [
        "容量模型：一个需求点的居民可分配到多个中心，超出容量者计惩罚时间 "
        "(residents may be split; those beyond every capacity count the penalty time)"
    ]
    notes += time_limit_notes(best.status, time_limit_s)
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
