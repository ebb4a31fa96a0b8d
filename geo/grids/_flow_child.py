"""OR-Tools' max flow of least cost, in a child process of its own (run by file path, not imported).

``geo.grids.linkage`` runs ``python <this file>`` with an ``.npz`` on standard input (arrays
``tail``, ``head``, ``capacity``, ``cost``, ``supply``; int64) and reads an ``.npz`` from standard
output (``optimal``: bool, ``status``: the solver's status name, ``flow``: int64 per arc,
``peak_mb``: this process's peak resident memory, from ``VmHWM``, NaN where there is none).

Why a child: OR-Tools and highspy (the placement's MIP) each ship their own ``libhighs.so.1``,
of different HiGHS versions under one soname; a process can load only one of them, and the
second package to be imported then fails on a missing symbol.  This file imports numpy and
OR-Tools only, so the web app and the scripts keep highspy in their own process.
"""

from __future__ import annotations

import io
import sys

import numpy as np


def _peak_mb() -> float:
    """Peak resident memory of this process since its exec (MB), NaN where /proc is not there."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> int:
    """Read the network from stdin, solve, write the flows to stdout."""
    from ortools.graph.python import min_cost_flow

    data = np.load(io.BytesIO(sys.stdin.buffer.read()))
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(data["tail"], data["head"], data["capacity"], data["cost"])
    solver.set_nodes_supplies(np.arange(data["supply"].size), data["supply"])
    status = solver.solve_max_flow_with_min_cost()
    optimal = status == min_cost_flow.SimpleMinCostFlow.OPTIMAL
    flow = solver.flows(arcs) if optimal else np.zeros(0, dtype=np.int64)
    out = io.BytesIO()
    name = np.str_(getattr(status, "name", str(status)))
    np.savez(out, optimal=np.bool_(optimal), status=name, flow=flow, peak_mb=np.float64(_peak_mb()))
    sys.stdout.buffer.write(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
