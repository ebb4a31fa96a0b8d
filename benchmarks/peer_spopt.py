"""The peer: PySAL spopt's location models solved by PuLP's CBC, on our cost matrix.

Run by :mod:`benchmarks.bench_placement` in a child process (so a run that does not
finish can be killed at a wall-clock limit)::

    python -m benchmarks.peer_spopt INSTANCE.npz mclp|pmedian|lscp P COVER_S PENALTY_S

The instance holds the sparse (demand, candidate, seconds) pairs; the peer gets them
as the dense cost matrix spopt expects (``from_cost_matrix``), pairs beyond the cutoff
set to ``PENALTY_S`` (p-median: the same penalty as ours; coverage models: never
within the radius).  Prints one JSON line: objective, status as PuLP reports it,
seconds to build the model and to solve it.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path, model, p, cover_s, penalty_s = argv[0], argv[1], int(argv[2]), float(argv[3]), float(argv[4])
    import pulp
    from spopt.locate import LSCP, MCLP, PMedian

    data = np.load(path)
    residents = data["residents"]
    n_cand = int(data["n_cand"])
    cost = np.full((residents.size, n_cand), penalty_s)
    cost[data["demand"], data["cand"]] = data["time_s"]
    t0 = time.perf_counter()
    if model == "mclp":
        m = MCLP.from_cost_matrix(cost, residents, service_radius=cover_s, p_facilities=p)
    elif model == "pmedian":
        m = PMedian.from_cost_matrix(cost, residents, p_facilities=p)
    else:
        coverable = (cost <= cover_s).any(axis=1)
        m = LSCP.from_cost_matrix(cost[coverable], service_radius=cover_s)
    build_s = time.perf_counter() - t0
    m.solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    total_s = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "objective": float(pulp.value(m.problem.objective)),
                "status": pulp.LpStatus[m.problem.status],
                "build_s": build_s,
                "time_s": total_s,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
