"""How far the LSCP with 2,000 candidates is from a proof: long searches and a long MIP.

Usage::

    python -m benchmarks.lscp_bound [--search-s 30] [--seeds 3] [--mip-s 600] [--markdown FILE]

Issue 6 asks for a proven gap of at most 1 % within 60 s on this instance.  This
script measures what stands in the way, with the project's own tools and far more
time than 60 s: the LP bound of the reduced set cover, the smallest covers the local
search finds in ``--search-s`` seconds from several seeds, and the dual bound HiGHS
proves in ``--mip-s`` seconds when it starts from the best of those covers.  A 1 %
gap on a cover of ~159 sites needs a proven bound of 158.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import sparse

from benchmarks.bench_placement import BENCH_MINUTES, PMEDIAN_CUTOFF_S, RESULTS, build_instance


def main(argv: list[str] | None = None) -> int:
    from geo.placement.cover_search import search_cover
    from geo.placement.highs import run_highs as _run_highs
    from geo.placement.highs import set_cover_model
    from geo.placement.lscp import _greedy_cover, _reduce_set_cover
    from geo.placement.problem import Problem, reduce_cover

    parser = argparse.ArgumentParser(prog="python -m benchmarks.lscp_bound", description=__doc__.splitlines()[0])
    parser.add_argument("--search-s", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--mip-s", type=float, default=600.0)
    parser.add_argument("--markdown", type=Path, default=RESULTS / "lscp_bound.md")
    args = parser.parse_args(argv)

    inst = build_instance(50_000, 20_000, 2000, PMEDIAN_CUTOFF_S)
    prob = Problem.from_pairs(inst.demand, inst.cand, inst.time_s, inst.residents, inst.n_cand)
    A, _cols, forced, stats = _reduce_set_cover(reduce_cover(prob, BENCH_MINUTES * 60).A)
    n_r, n_c = A.shape
    print(f"reduced set cover: {n_r:,} rows x {n_c:,} columns, {A.nnz:,} nonzeros, {forced.size} forced", flush=True)
    rows = sparse.csr_array(A.astype(float))
    ones = np.ones(n_r)
    lp = _run_highs(*set_cover_model(rows), maximize=False, time_limit_s=120.0, relax=True, lp_solver="ipm")
    print(f"LP bound {lp.objective:.3f} in {lp.time_s:.1f} s", flush=True)
    At = sparse.csr_array(A.T)
    start = np.asarray(_greedy_cover(At, ones, float(n_r), n_r), int)
    covers = []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        best = search_cover(A, start, deadline=t0 + args.search_s, seed=seed)
        covers.append(best)
        print(f"search seed {seed}: {best.size} sites in {time.perf_counter() - t0:.0f} s", flush=True)
    best = min(covers, key=len)
    x0 = np.zeros(n_c)
    x0[best] = 1.0
    mip = _run_highs(*set_cover_model(rows), maximize=False, time_limit_s=args.mip_s, start=x0, mip_rel_gap=1e-6)
    print(f"MIP {mip.status}: cover {mip.objective:.0f}, bound {mip.bound:.3f} in {mip.time_s:.0f} s", flush=True)
    found = min(best.size, mip.objective)
    proven = int(np.ceil(max(lp.objective, mip.bound) - 1e-6))
    text = "\n".join(
        [
            "# LSCP, 2,000 candidates: the distance to a proof",
            "",
            f"Reduced set cover: {n_r:,} rows x {n_c:,} columns ({A.nnz:,} nonzeros; {stats}).",
            "",
            "| what | value |",
            "|---|---|",
            f"| LP bound (HiGHS IPM) | {lp.objective:.3f} -> at least {int(np.ceil(lp.objective - 1e-6))} sites |",
            *(f"| local search, seed {k}, {args.search_s:g} s | {c.size} sites |" for k, c in enumerate(covers)),
            f"| HiGHS MIP, {args.mip_s:g} s, 1 thread, started from {best.size} | "
            f"{mip.status}: cover {mip.objective:.0f}, dual bound {mip.bound:.3f} |",
            f"| smallest cover found / proven bound | {found:.0f} / {proven} -> gap "
            f"{100 * (found - proven) / found:.1f} % (1 % needs a bound of {int(np.ceil(0.99 * found))}) |",
            "",
        ]
    )
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
