"""The "1+10" linkage for 5,000 in-service members and 50,000 households, proven optimal.

    python -m benchmarks.bench_linkage [--nodes 50000] [--members 5000] [--households 50000]
                                       [--k 10] [--radius-s 300] [--max-radius-s 900]
                                       [--peer-cap-s 300]

The generated county walk network (``benchmarks.city.make_city``, seed 0, as
``benchmarks.county`` writes it; ``--nodes 8000`` is the denser town of the first figures);
members and households at random nodes offset by up to 30 m (fixed seeds).  Timed, each with
the resident memory it added at its peak (VmHWM after resetting it through
``/proc/self/clear_refs``): the candidate pairs (snapping, one batched Dijkstra over all
members on the reversed graph, the radius widened for members short of K), the exact
assignment (OR-Tools min-cost flow in its child process, whose whole peak resident size is
given apart, and the certificate checked by ``solve_linkage`` itself; both timed once more on
their own), and the greedy nearest peer on the same pairs.
The former exact path (HiGHS column generation, ``benchmarks.peer_linkage_highs``) runs on the
same pairs in a child process, stopped at ``--peer-cap-s``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from benchmarks.city import make_city
from geo.grids.linkage import _certify, _min_cost_flow, greedy_linkage, linkage_pairs, solve_linkage
from geo.network.graph import network_from_gdfs

TARGET_S = 60.0
OFFSET_M = 30.0


def _points(net, n: int, seed: int) -> gpd.GeoSeries:
    rng = np.random.default_rng(seed)
    xy = net.node_xy[rng.integers(0, net.n_nodes, n)]
    angle = rng.uniform(0, 2 * np.pi, n)
    r = rng.uniform(0, OFFSET_M, n)
    return gpd.GeoSeries(shapely.points(xy + np.c_[r * np.cos(angle), r * np.sin(angle)]), crs=net.crs)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed(fn, *args, **kwargs):
    """``fn(...)``, its wall time (s) and the resident memory it added at its peak (MB)."""
    before = _status_mb("VmRSS")
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0, _status_mb("VmHWM") - before


def _peer(pairs, k: int, cap_s: float) -> tuple[str, float | None, int | None, float | None]:
    """Run the HiGHS column generation in a child process; (status line, s, links, total time)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.npz"
        np.savez(
            path,
            member=pairs.member,
            household=pairs.household,
            time_s=pairs.time_s,
            n_members=pairs.n_members,
            n_households=pairs.n_households,
        )
        cmd = [sys.executable, "-m", "benchmarks.peer_linkage_highs", str(path), "--k", str(k)]
        t0 = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=cap_s)
        except subprocess.TimeoutExpired as exc:
            rounds = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            last = rounds.strip().splitlines()[-1] if rounds.strip() else "no round finished"
            return f"did not finish in {cap_s:.0f} s (last: {last})", None, None, None
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            return f"failed: {done.stderr.strip().splitlines()[-1]}", None, None, None
        links, total, solve_s, rounds = done.stdout.strip().splitlines()[-1].split()
        return f"{rounds} rounds, {wall:.1f} s with start-up", float(solve_s), int(links), float(total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50000)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--households", type=int, default=50000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--radius-s", type=float, default=300.0)
    parser.add_argument("--max-radius-s", type=float, default=900.0)
    parser.add_argument("--peer-cap-s", type=float, default=300.0, help="0: do not run the HiGHS peer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    load_before = os.getloadavg()
    nodes, edges = make_city(args.nodes)
    net = network_from_gdfs(nodes, edges)
    graph = net.cost_graph("walk")
    members = _points(net, args.members, 11)
    households = _points(net, args.households, 12)
    pairs, t_pairs, mb_pairs = _timed(
        linkage_pairs, graph, members, households, k=args.k, radius_s=args.radius_s, max_radius_s=args.max_radius_s
    )
    exact, t_exact, mb_exact = _timed(solve_linkage, pairs, k=args.k)
    # The two parts of the exact solve, again, each on its own.
    (used, cost, unit, mb_child), t_flow, _ = _timed(_min_cost_flow, pairs, args.k)
    _, t_cert, _ = _timed(_certify, pairs, used, cost, args.k)
    greedy, t_greedy, _ = _timed(greedy_linkage, pairs, k=args.k)
    peer = _peer(pairs, args.k, args.peer_cap_s) if args.peer_cap_s > 0 else ("not run", None, None, None)
    load_after = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}; make_city({args.nodes}): {net.n_nodes:,} nodes; "
        f"{args.members:,} members, {args.households:,} households, K={args.k}, "
        f"radius {args.radius_s:.0f}-{args.max_radius_s:.0f} s"
    )
    print(
        f"candidate pairs: {pairs.member.size:,} ({pairs.member.size / args.members:.0f} per member), "
        f"members widened: {(pairs.radius_s > args.radius_s).sum():,}; "
        f"load average (1/5/15 min) before {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, "
        f"after {load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f}"
    )
    print()
    print("| step | s | peak MB added | links | members short of K | total walk (h) | mean walk per link (min) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| candidate pairs (snapping + batched Dijkstra) | {t_pairs:.1f} | {mb_pairs:.0f} | | | | |")

    def row(name: str, t: float | str, mb: str, links: int, short: int | str, total_s: float) -> None:
        mean = total_s / max(links, 1) / 60
        t_text = f"{t:.1f}" if isinstance(t, float) else t
        print(f"| {name} | {t_text} | {mb} | {links:,} | {short} | {total_s / 3600:.2f} | {mean:.3f} |")

    row("**exact: min-cost flow + certificate**", t_exact, f"{mb_exact:.0f} (+ child {mb_child:.0f})", exact.n_links,
        exact.short_members.size, exact.total_time_s)  # fmt: skip
    print(f"| of which the OR-Tools solve (timed again alone) | {t_flow:.1f} | | | | | |")
    print(f"| of which the certificate (max-flow + potentials; again alone) | {t_cert:.1f} | | | | | |")
    row("greedy nearest (peer)", t_greedy, "", greedy.n_links, greedy.short_members.size, greedy.total_time_s)
    status, peer_s, peer_links, peer_total = peer
    if peer_s is None:
        print(f"| former exact: HiGHS column generation | {status} | | | | | |")
    else:
        row(f"former exact: HiGHS column generation ({status})", peer_s, "", peer_links or 0, "", peer_total or 0.0)
    print()
    total = t_pairs + t_exact
    print(
        f"pairs + exact: {total:.1f} s (target {TARGET_S:.0f} s); optimal={exact.optimal}, "
        f"within {exact.gap_bound_s:.3f} s of the unrounded optimum (times in whole {unit * 1e6:.0f} µs)"
    )
    if peer_s is not None:
        print(
            f"former exact / min-cost flow (solver alone): {peer_s / t_exact:.1f}x; "
            f"same links: {peer_links == exact.n_links}, "
            f"total difference {(peer_total or 0.0) - exact.total_time_s:+.4f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
