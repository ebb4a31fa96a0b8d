"""The former exact "1+10" solver, kept as the benchmark's peer: HiGHS column generation.

    python -m benchmarks.peer_linkage_highs PAIRS.npz --k 10

This is ``geo.grids.linkage.solve_linkage`` as it was before the min-cost flow (commit 95b212b):
the transportation LP (one shortfall variable per member, priced above any rearrangement) solved
by HiGHS dual simplex through ``scipy.optimize.linprog``, over each member's nearest 3K pairs
first, adding the pairs with a negative reduced cost and solving again (a cold start each round)
until none is left.  Run in a child process by ``benchmarks.bench_linkage`` under a time cap.
Prints one line: ``links total_time_s seconds rounds``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

FIRST_PAIRS_PER_K = 3
REDUCED_COST_TOL = 1e-9


def _solve_lp(member, household, time_s, n_m, n_h, k, penalty):
    p = member.size
    cost = np.concatenate([time_s, np.full(n_m, penalty)])
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
        cost, A_ub=a_ub, b_ub=np.ones(n_h), A_eq=a_eq, b_eq=np.full(n_m, float(k)), bounds=bounds, method="highs-ds"
    )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"HiGHS status {res.status}: {res.message}")
    return res.x[:p], np.asarray(res.eqlin.marginals), np.asarray(res.ineqlin.marginals)


def solve(member, household, time_s, n_m: int, n_h: int, k: int) -> tuple[np.ndarray, int]:
    """The chosen pairs' indices and the number of rounds."""
    p = member.size
    penalty = (2.0 * min(n_m, n_h) + 2.0) * max(float(time_s.max()), 1.0)
    order = np.lexsort((time_s, member))
    first = np.searchsorted(member[order], np.arange(n_m))
    rank = np.empty(p, dtype=np.int64)
    rank[order] = np.arange(p) - first[member[order]]
    active = rank < FIRST_PAIRS_PER_K * k
    rounds = 0
    while True:
        rounds += 1
        cols = np.flatnonzero(active)
        x, dual_m, dual_h = _solve_lp(member[cols], household[cols], time_s[cols], n_m, n_h, k, penalty)
        reduced = time_s - dual_m[member] - dual_h[household]
        add = ~active & (reduced < -REDUCED_COST_TOL * max(1.0, float(np.abs(dual_m).max(initial=0.0))))
        print(f"round {rounds}: {cols.size:,} pairs in the LP, {int(add.sum()):,} to add", flush=True)
        if not add.any():
            return cols[x > 0.5], rounds
        active |= add


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", help="npz with member, household, time_s, n_members, n_households")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    data = np.load(args.pairs)
    t0 = time.perf_counter()
    chosen, rounds = solve(
        data["member"], data["household"], data["time_s"], int(data["n_members"]), int(data["n_households"]), args.k
    )
    seconds = time.perf_counter() - t0
    print(f"{chosen.size} {float(data['time_s'][chosen].sum()):.6f} {seconds:.3f} {rounds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
