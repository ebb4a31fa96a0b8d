"""Peers of the placement benchmark: the plain MIP of the reduced model, solved by CBC and by HiGHS.

spopt (:mod:`benchmarks.peer_spopt`) spends almost all of its time building its model
over the dense cost matrix.  These peers are what a practitioner writes by hand
instead: the same (demand, candidate, seconds) pairs our engine gets, demand points
with the same candidate set merged into one row (weights summed), and the textbook
model on those rows, solved to proven optimality by

* CBC (PuLP's bundled binary, through PuLP: the model is built from arrays with
  :class:`pulp.LpAffineExpression`, the fastest way PuLP offers), and
* HiGHS (highspy: the model handed over as arrays, no modelling layer).

Models on the merged rows ``r`` (weights ``w_r``, candidate sets ``N_r``):

* MCLP: ``max sum_r w_r y_r``, ``y_r <= sum_{j in N_r} x_j``, ``sum_j x_j = p``,
  ``x`` binary, ``y`` in [0, 1];
* LSCP: ``min sum_j x_j``, ``sum_{j in N_r} x_j >= 1`` for every coverable row;
* p-median (rows merged by identical (candidate, seconds) lists):
  ``min sum_r w_r (sum_j t_rj z_rj + P u_r)``, ``sum_j z_rj + u_r = 1``,
  ``z_rj <= x_j``, ``sum_j x_j = p``.

Both solvers run on one thread with the relative gap our engine proves
(:data:`geo.settings.PLACEMENT_MIP_REL_GAP`) and a wall-clock limit; a run that stops
at the limit reports its best objective and, where the solver says, its bound.  The
time of a run starts from the pairs (the merging and the model building count) and
ends when the solver's answer is read back.

Run by :mod:`benchmarks.bench_placement` in a child process, one solver per process
(CBC's ``-sec`` is only checked between branch-and-bound nodes: on a large model it
can spend minutes in its root LP, so the benchmark kills the process group at a
wall-clock limit)::

    python -m benchmarks.peer_mip INSTANCE.npz mclp|lscp|pmedian cbc|highs P COVER_S PENALTY_S LIMIT_S GAP

Prints one JSON line: objective, bound, status, seconds (``time_s`` from the pairs to
the answer), merged rows.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

__all__ = ["MipModel", "build_model", "main", "merge_rows", "solve_cbc", "solve_highs"]


@dataclass(frozen=True)
class MipModel:
    """``opt cost @ x`` s.t. ``row_lower <= rows @ x <= row_upper``, bounds, integrality."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    rows: sparse.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    maximize: bool
    n_rows_merged: int


def merge_rows(
    demand: np.ndarray, cand: np.ndarray, weight: np.ndarray, time_s: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge demand points whose (candidate[, seconds]) lists are identical.

    The pairs may come in any order.  Returns the merged rows as pairs
    ``(row, cand, time_s)`` sorted by row then candidate, and the summed weight per row.
    Points with no pair or zero weight are dropped.
    """
    order = np.lexsort((cand, demand))
    d, c = demand[order], cand[order]
    t = time_s[order] if time_s is not None else np.zeros(d.size)
    keep = weight[d] > 0
    d, c, t = d[keep], c[keep], t[keep]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if d.size else np.zeros(0, int)
    ends = np.r_[starts[1:], d.size]
    c_bytes = c.astype(np.int64).tobytes()
    t_bytes = t.astype(np.float64).tobytes()
    groups: dict[bytes, int] = {}
    row_of = np.empty(starts.size, np.int64)
    for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        key = c_bytes[8 * a : 8 * b] + t_bytes[8 * a : 8 * b]
        row_of[k] = groups.setdefault(key, len(groups))
    n_rows = len(groups)
    w_rows = np.bincount(row_of, weights=weight[d[starts]], minlength=n_rows)
    first = np.full(n_rows, -1, np.int64)
    first[row_of[::-1]] = np.arange(starts.size)[::-1]
    length = (ends - starts)[first]
    take = np.repeat(starts[first], length) + (np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length))
    rows = np.repeat(np.arange(n_rows), length)
    return rows, c[take], t[take], w_rows


def build_model(
    model: str,
    demand: np.ndarray,
    cand: np.ndarray,
    time_s: np.ndarray,
    weight: np.ndarray,
    n_cand: int,
    *,
    p: int,
    cover_s: float,
    penalty_s: float,
) -> MipModel:
    """The plain MIP of ``model`` (``mclp``, ``lscp``, ``pmedian``) on the merged rows; columns x first."""
    if model in ("mclp", "lscp"):
        within = time_s <= cover_s
        r, c, _t, w = merge_rows(demand[within], cand[within], weight)
        n_r = w.size
        if model == "lscp":
            rows = sparse.csr_array((np.ones(r.size), (r, c)), shape=(n_r, n_cand))
            return MipModel(
                np.ones(n_cand),
                np.zeros(n_cand),
                np.ones(n_cand),
                np.ones(n_cand, bool),
                rows,
                np.ones(n_r),
                np.full(n_r, np.inf),
                False,
                n_r,
            )
        n = n_cand + n_r
        rows = sparse.csr_array(
            (
                np.r_[-np.ones(r.size), np.ones(n_r), np.ones(n_cand)],
                (np.r_[r, np.arange(n_r), np.full(n_cand, n_r)], np.r_[c, n_cand + np.arange(n_r), np.arange(n_cand)]),
            ),
            shape=(n_r + 1, n),
        )
        return MipModel(
            np.r_[np.zeros(n_cand), w],
            np.zeros(n),
            np.ones(n),
            np.r_[np.ones(n_cand, bool), np.zeros(n_r, bool)],
            rows,
            np.r_[np.full(n_r, -np.inf), p],
            np.r_[np.zeros(n_r), p],
            True,
            n_r,
        )
    if model != "pmedian":
        raise ValueError(f"model must be mclp, lscp or pmedian, got {model!r}")
    r, c, t, w = merge_rows(demand, cand, weight, time_s)
    n_r, n_p = w.size, r.size
    z = n_cand + np.arange(n_p)
    u = n_cand + n_p + np.arange(n_r)
    n = n_cand + n_p + n_r
    pair = np.arange(n_p)
    rows = sparse.csr_array(
        (
            np.r_[np.ones(n_p + n_r), np.ones(n_p), -np.ones(n_p), np.ones(n_cand)],
            (
                np.r_[r, np.arange(n_r), n_r + pair, n_r + pair, np.full(n_cand, n_r + n_p)],
                np.r_[z, u, z, c, np.arange(n_cand)],
            ),
        ),
        shape=(n_r + n_p + 1, n),
    )
    return MipModel(
        np.r_[np.zeros(n_cand), w[r] * t, w * penalty_s],
        np.zeros(n),
        np.ones(n),
        np.r_[np.ones(n_cand, bool), np.zeros(n_p + n_r, bool)],
        rows,
        np.r_[np.ones(n_r), np.full(n_p, -np.inf), p],
        np.r_[np.ones(n_r), np.zeros(n_p), p],
        False,
        n_r,
    )


def solve_highs(m: MipModel, *, time_limit_s: float, mip_rel_gap: float) -> dict:
    """HiGHS on the model as arrays (1 thread); objective, bound, status and seconds."""
    import highspy

    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    csc = sparse.csc_array(m.rows)
    csc.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m.cost.size, m.rows.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = m.cost, m.lower, m.upper
    lp.row_lower_, lp.row_upper_ = m.row_lower, m.row_upper
    lp.sense_ = highspy.ObjSense.kMaximize if m.maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in m.integer]
    h.passModel(lp)
    build_s = time.perf_counter() - t0
    h.run()
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    return {
        "objective": float(info.objective_function_value),
        "bound": float(info.mip_dual_bound),
        "status": {"Optimal": "optimal", "Time limit reached": "time_limit"}.get(status, status),
        "build_s": build_s,
        "solve_s": time.perf_counter() - t0 - build_s,
    }


_CBC_BOUND = re.compile(r"(?:Lower|Upper) bound:\s*(\S+)")


def solve_cbc(m: MipModel, *, time_limit_s: float, mip_rel_gap: float) -> dict:
    """CBC through PuLP (1 thread, wall-clock limit); objective, bound (from CBC's log), status, seconds."""
    import pulp

    t0 = time.perf_counter()
    prob = pulp.LpProblem("peer", pulp.LpMaximize if m.maximize else pulp.LpMinimize)
    xs = [
        pulp.LpVariable(
            f"v{k}", lowBound=lo, upBound=up, cat=pulp.LpBinary if b and lo == 0 and up == 1 else "Continuous"
        )
        for k, (lo, up, b) in enumerate(zip(m.lower.tolist(), m.upper.tolist(), m.integer.tolist(), strict=True))
    ]
    nz = np.flatnonzero(m.cost)
    prob += pulp.LpAffineExpression([(xs[k], float(m.cost[k])) for k in nz.tolist()])
    indptr, indices, data = m.rows.indptr, m.rows.indices.tolist(), m.rows.data.tolist()
    for i, (lo, up) in enumerate(zip(m.row_lower.tolist(), m.row_upper.tolist(), strict=True)):
        a, b = int(indptr[i]), int(indptr[i + 1])
        expr = pulp.LpAffineExpression([(xs[k], v) for k, v in zip(indices[a:b], data[a:b], strict=True)])
        if lo == up:
            prob += pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"r{i}", up)
        elif np.isfinite(up):
            prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"r{i}", up)
        else:
            prob += pulp.LpConstraint(expr, pulp.LpConstraintGE, f"r{i}", lo)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            threads=1,
            timeLimit=time_limit_s,
            gapRel=mip_rel_gap,
            timeMode="elapsed",
            logPath=str(log),
        )
        prob.solve(solver)
        text = log.read_text(errors="replace")
    value = pulp.value(prob.objective)
    objective = float("nan") if value is None else float(value)
    proven = prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal
    found = _CBC_BOUND.search(text)
    bound = objective if proven else (float(found.group(1)) if found else float("nan"))
    return {
        "objective": objective,
        "bound": bound,
        "status": "optimal"
        if proven
        else ("time_limit" if prob.sol_status == pulp.LpSolutionIntegerFeasible else pulp.LpSolution[prob.sol_status]),
        "build_s": build_s,
        "solve_s": time.perf_counter() - t0 - build_s,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path, model, solver = argv[0], argv[1], argv[2]
    p, cover_s, penalty_s, limit_s, gap = int(argv[3]), float(argv[4]), float(argv[5]), float(argv[6]), float(argv[7])
    data = np.load(path)
    t0 = time.perf_counter()
    m = build_model(
        model,
        data["demand"],
        data["cand"],
        data["time_s"],
        data["residents"],
        int(data["n_cand"]),
        p=p,
        cover_s=cover_s,
        penalty_s=penalty_s,
    )
    merge_s = time.perf_counter() - t0
    solve = {"cbc": solve_cbc, "highs": solve_highs}[solver]
    res = solve(m, time_limit_s=limit_s, mip_rel_gap=gap)
    res.update(time_s=time.perf_counter() - t0, merge_s=merge_s, rows=m.n_rows_merged)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
