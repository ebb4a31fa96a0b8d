"""Reach-set benchmark: our engine against the osmnx recipe and a scipy floor.

Usage::

    python -m benchmarks.bench_reach [--nodes 50000] [--sources 1000] [--radius-m 1200]
                                     [--repeat 3] [--cold] [--markdown FILE]

Steps: generate the synthetic city (:mod:`benchmarks.city`, fixed seed), keep the
walkable edges (no motorways) for the peers, build the networkx graph and the CSR
length matrix (not timed as part of the peers; reported separately), draw the
source nodes with a fixed seed, cross-check all methods on a few sources, then
measure every method with :func:`benchmarks.peers.measure_detailed` (fresh process
per repeat; median time of a second, warm call in each process, or of the first call
with ``--cold``; the cold time is always shown too; peak resident memory added by the
first call).

The networkx peers are timed on all sources unless a short pilot run projects more
than ``--max-peer-seconds`` per repeat; then they run on a fixed random subset of
``--subset`` sources and the time is extrapolated linearly to all sources, which the
output says.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from benchmarks.city import make_city, to_networkx, walk_edges
from benchmarks.peers import (
    MeasurementDetail,
    build_csr,
    measure_detailed,
    reach_networkx_dijkstra,
    reach_osmnx_recipe,
    reach_scipy_floor,
    subset_sources,
)

SOURCE_SEED = 20_240_601  # fixed seed of the source draw
SUBSET_SEED = 7  # fixed seed of the extrapolation subset
CHECK_SOURCES = 20  # sources of the cross-check
OURS_NAME = "ours: network_from_gdfs + reach_sets"
TIME_NOTE = (
    "time s: median over fresh processes of a second (warm) call, or of the first call "
    "with --cold; cold s: median first call in a fresh process (includes lazy "
    "initialisation and first-touch page faults). peak MB: resident memory added by "
    "the first call (VmHWM - VmRSS before it). Peers exclude building their graph."
)


# ============================================================================ OURS ==
# Our engine: geo.network.graph.  The comparison pins the walking speed so that 15 minutes
# is exactly ``radius_m`` (1200 m: 4.8 km/h); distances come back in metres.

BENCH_MINUTES = 15.0
#: Distances below this (metres) are the source node itself (ours stores the
#: source at the virtual arc's microsecond, about 1e-6 m).
SOURCE_EPS_M = 1e-3


def _bench_profile(radius_m: float):
    from geo.settings import TravelProfile

    speed_kmh = radius_m / 1000.0 / (BENCH_MINUTES / 60.0)
    return TravelProfile(
        name="walk-bench",
        label_zh="步行(基准)",
        speed_kmh=speed_kmh,
        access_speed_kmh=speed_kmh,
        source=f"benchmark: {BENCH_MINUTES:g} min = {radius_m:g} m",
    )


def build_ours(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> Any:
    """Build our walk network from the full city GeoDataFrames (motorways included)."""
    from geo.network.graph import network_from_gdfs

    return network_from_gdfs(nodes, edges)


def query_ours(net: Any, origins_xy: np.ndarray, radius_m: float) -> sp.csr_array:
    """Reach sets of ``origins_xy`` (n x 2, metres, the network's CRS) on a built ``net``.

    Includes snapping the origins onto edges and one chunked batched Dijkstra.
    Returns ``(n_sources, n_nodes)`` network distances in metres.
    """
    from geo.network.reach import reach_sets
    from geo.network.snapping import snap_points

    profile = _bench_profile(radius_m)
    graph = net.cost_graph(profile)
    snapped = snap_points(graph, origins_xy, crs=net.crs)
    reach = reach_sets(graph, snapped, max_time_s=BENCH_MINUTES * 60.0)
    return sp.csr_array(
        (np.maximum(reach.time_s * profile.speed_mps, 1e-9), (reach.origin, reach.node)),
        shape=(reach.n_origins, reach.n_nodes),
    )


def run_ours(
    nodes: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    source_node_ids: np.ndarray,
    radius_m: float,
) -> sp.csr_array:
    """OUR ENGINE, end to end: build the network from the GeoDataFrames, then reach sets.

    Parameters
    ----------
    nodes, edges
        The full synthetic city (our engine filters motorways by its walk profile).
    source_node_ids
        Source node ids; the origins are these nodes' coordinates.
    radius_m
        Network radius in metres.

    Returns
    -------
    scipy.sparse.csr_array
        ``(n_sources, n_nodes)`` network distances in metres.
    """
    net = build_ours(nodes, edges)
    return query_ours(net, _origins_xy(nodes, source_node_ids), radius_m)


# ====================================================================== end of OURS ==


def _origins_xy(nodes: gpd.GeoDataFrame, source_node_ids: np.ndarray) -> np.ndarray:
    """The ``(n, 2)`` coordinates of the source nodes."""
    return nodes.loc[source_node_ids, ["x", "y"]].to_numpy(dtype=np.float64)


@dataclass
class Row:
    """One line of the result table."""

    method: str
    detail: MeasurementDetail | None
    scale: float = 1.0  # extrapolation factor applied to the measured times
    note: str = ""

    @property
    def time_s(self) -> float:
        """Median (warm unless ``--cold``) time, extrapolated to all sources."""
        return float("nan") if self.detail is None else self.detail.median_s * self.scale

    @property
    def cold_s(self) -> float:
        """Median first-call time in a fresh process, extrapolated to all sources."""
        return float("nan") if self.detail is None else self.detail.median_cold_s * self.scale


def _measure(name: str, fn: Callable[..., Any], *fn_args: Any, args: argparse.Namespace, note: str = "") -> Row:
    """Measure ``fn(*fn_args)`` with the command-line repeat / warm settings."""
    print(f"  {name} ...", flush=True)
    detail = measure_detailed(fn, *fn_args, repeat=args.repeat, warm=not args.cold)
    return Row(name, detail, note=note)


def _measure_nx_peer(
    name: str,
    fn: Callable[..., Any],
    G: Any,
    source_ids: list,
    radius_m: float,
    args: argparse.Namespace,
) -> Row:
    """Measure a networkx peer, on a subset with linear extrapolation if it is too slow."""
    n_all = len(source_ids)
    pilot = subset_sources(source_ids, 20, seed=SUBSET_SEED)
    t0 = time.perf_counter()
    fn(G, pilot, radius_m)
    projected = (time.perf_counter() - t0) / len(pilot) * n_all
    if projected <= args.max_peer_seconds or args.subset >= n_all:
        print(f"  (pilot projects {projected:.0f} s on all {n_all} sources)")
        return _measure(name, fn, G, source_ids, radius_m, args=args)
    subset = subset_sources(source_ids, args.subset, seed=SUBSET_SEED)
    scale = n_all / len(subset)
    print(
        f"  (pilot projects {projected:.0f} s > {args.max_peer_seconds:.0f} s: "
        f"timing {len(subset)} sources and extrapolating x{scale:g})"
    )
    row = _measure(name, fn, G, subset, radius_m, args=args)
    row.scale = scale
    row.note = f"timed on {len(subset)} random sources, times x{scale:g}; memory as measured"
    return row


def _cross_check(
    G: Any,
    csr: sp.csr_array,
    nodes: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    source_idx: np.ndarray,
    radius_m: float,
) -> list[str]:
    """Compare all methods on a few sources; return human-readable findings."""
    idx = source_idx[:CHECK_SOURCES]
    ids = list(nodes.index[idx])
    floor = reach_scipy_floor(csr, idx, radius_m)
    ego = reach_osmnx_recipe(G, ids, radius_m)
    dij = reach_networkx_dijkstra(G, ids, radius_m)
    lines = []
    bad_ego = bad_dij = 0
    for i in range(len(idx)):
        fin = np.flatnonzero(np.isfinite(floor[i]))
        reached = set(nodes.index[fin])
        bad_ego += reached != ego[i]
        dist = np.array([dij[i].get(k, np.inf) for k in nodes.index[fin]])
        bad_dij += (set(dij[i]) != reached) or not np.allclose(dist, floor[i, fin], rtol=0, atol=1e-6)
    lines.append(f"osmnx recipe vs scipy floor (reached sets): {len(idx) - bad_ego}/{len(idx)} agree")
    lines.append(f"networkx dijkstra vs scipy floor (distances): {len(idx) - bad_dij}/{len(idx)} agree")
    try:
        ours = sp.csr_array(run_ours(nodes, edges, nodes.index[idx].to_numpy(), radius_m))
    except NotImplementedError as exc:
        lines.append(f"ours: not checked ({exc})")
        return lines
    # order-free comparison: sorted finite distances per source (tolerates any node order)
    n_ok, worst = 0, 0.0
    for i in range(len(idx)):
        mine = np.sort(ours[[i], :].toarray().ravel())
        # The source itself: 0 in the floor, stored as 1e-9 m in ours (sparse).
        mine = mine[np.isfinite(mine) & (mine > SOURCE_EPS_M)]
        ref = np.sort(floor[i][np.isfinite(floor[i]) & (floor[i] > SOURCE_EPS_M)])
        if len(mine) == len(ref):
            worst = max(worst, float(np.abs(mine - ref).max(initial=0.0)))
            n_ok += bool(np.allclose(mine, ref, rtol=0, atol=1e-3))
    lines.append(
        f"ours vs scipy floor (sorted non-zero distances): {n_ok}/{len(idx)} agree, "
        f"max abs diff {worst:.2e} m on rows of equal size"
    )
    return lines


def _table(rows: list[Row], ref_name: str, floor_name: str) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of the result table."""
    ref = next(r.time_s for r in rows if r.method == ref_name)
    floor = next(r.time_s for r in rows if r.method == floor_name)
    header = [
        "method",
        "time s",
        "cold s",
        "speed-up vs osmnx recipe",
        "ratio vs scipy floor",
        "peak MB",
        "note",
    ]
    cells = []
    for r in rows:
        if r.detail is None:
            cells.append([r.method, *["n/a"] * 5, r.note])
            continue
        cells.append(
            [
                r.method,
                f"{r.time_s:.3f}",
                f"{r.cold_s:.3f}",
                f"{ref / r.time_s:.1f}x",
                f"{r.time_s / floor:.2f}x",
                f"{r.detail.peak_rss_mb:.0f}",
                r.note,
            ]
        )
    return header, cells


def _format_text(header: list[str], cells: list[list[str]]) -> str:
    """Fixed-width text table."""
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*c) for c in cells]
    return "\n".join(line.rstrip() for line in lines)


def _format_markdown(header: list[str], cells: list[list[str]]) -> str:
    """GitHub-flavoured Markdown table."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines)


def _environment() -> str:
    """One line describing the machine and library versions."""
    import networkx
    import osmnx
    import scipy

    return (
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"numpy {np.__version__}, scipy {scipy.__version__}, networkx {networkx.__version__}, "
        f"osmnx {osmnx.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring); return the exit status."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_reach", description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=50_000, help="city size in nodes (default 50000)")
    p.add_argument(
        "--sources",
        type=int,
        default=1_000,
        help="number of source nodes (default 1000)",
    )
    p.add_argument(
        "--radius-m",
        type=float,
        default=1_200.0,
        help="network radius, metres (default 1200)",
    )
    p.add_argument("--seed", type=int, default=0, help="city seed (default 0)")
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="repeats per method, fresh process each (default 3)",
    )
    p.add_argument(
        "--max-peer-seconds",
        type=float,
        default=600.0,
        help="time a networkx peer on a subset when a pilot projects more than this per repeat (default 600)",
    )
    p.add_argument(
        "--subset",
        type=int,
        default=100,
        help="subset size for extrapolation (default 100)",
    )
    p.add_argument(
        "--cold",
        action="store_true",
        help="report the first call in each fresh process instead of a second, warm call",
    )
    p.add_argument(
        "--markdown",
        type=Path,
        help="also write the result table as Markdown to this file",
    )
    args = p.parse_args(argv)

    print(_environment())
    t0 = time.perf_counter()
    nodes, edges = make_city(args.nodes, seed=args.seed)
    t_city = time.perf_counter() - t0
    walk = walk_edges(edges)
    t0 = time.perf_counter()
    G = to_networkx(nodes, walk)
    t_nx = time.perf_counter() - t0
    t0 = time.perf_counter()
    csr = build_csr(nodes, walk)
    t_csr = time.perf_counter() - t0
    print(
        f"city: {len(nodes):,} nodes, {len(edges):,} directed edges ({len(walk):,} walkable), "
        f"seed {args.seed}; make_city {t_city:.2f} s, to_networkx {t_nx:.2f} s, build_csr {t_csr:.2f} s"
    )

    has_out = np.diff(csr.indptr) > 0
    rng = np.random.default_rng(SOURCE_SEED)
    source_idx = np.sort(rng.choice(np.flatnonzero(has_out), size=args.sources, replace=False))
    source_ids = list(nodes.index[source_idx])
    print(f"sources: {len(source_ids)} random nodes (seed {SOURCE_SEED}), radius {args.radius_m:g} m")

    print("cross-check on", min(CHECK_SOURCES, len(source_idx)), "sources:")
    for line in _cross_check(G, csr, nodes, edges, source_idx, args.radius_m):
        print("  " + line)

    which = "first call" if args.cold else "second (warm) call"
    print(
        f"measuring: {args.repeat} repeats, each in a fresh process; time = {which}",
        flush=True,
    )
    ref_name = "osmnx recipe: nx.ego_graph per source"
    floor_name = "scipy floor: one csgraph.dijkstra(limit=)"
    src = np.asarray(source_ids)
    rows = [
        _measure_nx_peer(ref_name, reach_osmnx_recipe, G, source_ids, args.radius_m, args),
        _measure_nx_peer(
            "nx.single_source_dijkstra_path_length per source",
            reach_networkx_dijkstra,
            G,
            source_ids,
            args.radius_m,
            args,
        ),
        _measure(
            floor_name,
            reach_scipy_floor,
            csr,
            source_idx,
            args.radius_m,
            args=args,
            note="dense n_sources x n_nodes result",
        ),
    ]
    rows[0].note = "; ".join(filter(None, [rows[0].note, "reached sets only, no distances"]))
    rows.append(
        _measure(OURS_NAME, run_ours, nodes, edges, src, args.radius_m, args=args, note="includes building the network")
    )
    net = build_ours(nodes, edges)
    xy = _origins_xy(nodes, src)
    rows.append(_measure("ours: snap + reach_sets", query_ours, net, xy, args.radius_m, args=args))

    for r in rows:
        if r.detail is not None:
            d = r.detail
            print(
                f"  {r.method}: cold {', '.join(f'{t:.3f}' for t in d.cold_s)} s; "
                f"warm {', '.join(f'{t:.3f}' for t in d.warm_s) or '-'} s; "
                f"peak +{', '.join(f'{m:.0f}' for m in d.peaks_mb)} MB ({d.memory_method}); "
                f"reached pairs {d.reached[0]:,}"
            )
    header, cells = _table(rows, ref_name, floor_name)
    text = _format_text(header, cells)
    setup = (
        f"Not included in the peers' times: make_city {t_city:.2f} s, "
        f"osmnx.graph_from_gdfs {t_nx:.2f} s, CSR build {t_csr:.2f} s."
    )
    print()
    print(text)
    print(setup)
    if args.markdown is not None:
        title = (
            f"Reach sets: {len(nodes):,}-node synthetic city, {len(source_ids)} sources, "
            f"radius {args.radius_m:g} m, median of {args.repeat} fresh processes, time = {which}"
        )
        md = "\n\n".join(
            [
                f"### {title}",
                _format_markdown(header, cells),
                setup,
                _environment(),
                TIME_NOTE,
            ]
        )
        args.markdown.write_text(md + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
