"""Coverage benchmark: nearest facility per function for every demand point, ours against pandana.

Usage::

    python -m benchmarks.bench_coverage [--nodes 300000] [--demand 100000] [--facilities 1000]
                                        [--functions 6] [--max-dist-m 3000] [--repeat 3]
                                        [--peer-repeat 1] [--markdown FILE]

Steps: generate the synthetic city (:mod:`benchmarks.city`, fixed seed); keep the
walkable edges (no motorways) for pandana; place the demand points and the
facilities *exactly at* distinct random nodes of the walk network's largest strongly
connected component (fixed seeds), the facilities dealt round-robin over
``--functions`` function labels; cross-check ours against pandana on every (demand
point, function) pair (identical within 1 m is the target); an informational second
check with demand points off the nodes; then measure each method with
:func:`benchmarks.peers.measure_detailed` (a fresh process per repeat, peak resident
memory added by the first call).

Both sides measure the same thing.  Our walking speed is pinned to 3.6 km/h (1 m/s,
access leg too), so our seconds are metres; the search limit ``--max-dist-m`` is our
``max_time_s`` and pandana's ``maxdist``.  On node-placed points our snapping puts
every point on an edge end with a zero access leg, so both report node-to-node network
distance.  pandana reports its fill value ``maxdist`` (or NaN) where it found nothing;
that is mapped to ``inf`` as ours reports it.

Methods:

* pandana end to end: ``Network(...)`` (contraction hierarchy; no ``precompute``, which
  ``nearest_pois`` does not use) + ``set_pois`` and ``nearest_pois`` per function +
  ``get_node_ids`` of the demand points (:mod:`benchmarks.peer_pandana`).  One build
  takes minutes at 300k nodes, so it runs ``--peer-repeat`` times (default 1); the time
  is the first call in a fresh process.
* ours end to end: ``network_from_gdfs`` + ``cost_graph`` + ``snap_points`` (demand and
  facilities) + ``nearest_facilities``; first call in a fresh process (``--repeat``).
* ours, snapping alone: ``snap_points`` of demand and facilities on a built graph
  (the cold call includes building the edges' STRtree; the warm call reuses it).
* ours, query alone: ``nearest_facilities`` on snapped points (the "under 2 s" target);
  warm (second call in the process) and cold times.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from benchmarks.bench_reach import _environment, _format_markdown, _format_text
from benchmarks.city import make_city, walk_edges
from benchmarks.peer_pandana import (
    build_pandana,
    demand_distances,
    nearest_pandana,
    node_distances,
    pandana_inputs,
)
from benchmarks.peers import MeasurementDetail, build_csr, measure_detailed

DEMAND_SEED = 20_240_604  # fixed seed of the demand draw
FACILITY_SEED = 20_240_605  # fixed seed of the facility draw
OFF_NODE_SEED = 20_240_606  # fixed seed of the off-node points
OFF_NODE_RADIUS_M = 40.0  # off-node points lie within this distance of a random node
TOLERANCE_M = 1.0  # "identical results within 1 m"
TIME_NOTE = (
    "time s: median over fresh processes of the first call (end to end), or of a second, warm "
    "call in the same process (snap and query alone, whose cold first call is shown beside it). "
    "peak MB: resident memory added by the first call (VmHWM - VmRSS before it), largest over the "
    "repeats. pandana runs its C++ with OpenMP on both CPUs; ours is single-threaded."
)


# ============================================================================ OURS ==
# Our engine: geo.network.graph + geo.network.routing.  Speed 3.6 km/h = 1 m/s: seconds are metres.


def metre_profile():
    """A walking profile at 1 m/s (access leg too), so that our seconds are metres."""
    from geo.settings import TravelProfile

    return TravelProfile(
        name="walk-metre",
        label_zh="步行(基准)",
        speed_kmh=3.6,
        access_speed_kmh=3.6,
        source="benchmark: 1 m/s, so that 1 s == 1 m",
    )


def build_ours(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> Any:
    """Our walk network from the full city GeoDataFrames and its 1 m/s cost graph."""
    from geo.network.graph import network_from_gdfs

    net = network_from_gdfs(nodes, edges)
    return net.cost_graph(metre_profile())


def snap_ours(graph: Any, demand_xy: np.ndarray, facility_xy: np.ndarray) -> tuple[Any, Any]:
    """``snap_points`` of the demand points and the facilities (metres, the network's CRS)."""
    from geo.network.snapping import snap_points

    crs = graph.network.crs
    return snap_points(graph, demand_xy, crs=crs), snap_points(graph, facility_xy, crs=crs)


def query_ours(
    graph: Any, demand: Any, facilities: Any, facility_group: np.ndarray, groups: tuple[str, ...], max_dist_m: float
) -> np.ndarray:
    """``nearest_facilities`` on snapped points: ``(n_demand, n_groups)`` metres, ``inf`` beyond."""
    from geo.network.routing import nearest_facilities

    found = nearest_facilities(graph, demand, facilities, facility_group, groups=groups, max_time_s=max_dist_m)
    return found.time_s


def run_ours(
    nodes: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    demand_xy: np.ndarray,
    facility_xy: np.ndarray,
    facility_group: np.ndarray,
    groups: tuple[str, ...],
    max_dist_m: float,
) -> np.ndarray:
    """OUR ENGINE, end to end: network from the GeoDataFrames, snapping, nearest facilities."""
    graph = build_ours(nodes, edges)
    demand, facilities = snap_ours(graph, demand_xy, facility_xy)
    return query_ours(graph, demand, facilities, facility_group, groups, max_dist_m)


# ====================================================================== end of OURS ==


@dataclass(frozen=True)
class Placement:
    """Demand points and facilities of one benchmark instance (metres, the city's CRS)."""

    demand_xy: np.ndarray
    facility_xy: np.ndarray
    facility_group: np.ndarray
    groups: tuple[str, ...]


def main_component(nodes: pd.DataFrame, walk: pd.DataFrame) -> np.ndarray:
    """Row positions of the nodes in the walk network's largest strongly connected component."""
    csr = build_csr(nodes, walk)
    _, labels = connected_components(csr, directed=True, connection="strong")
    return np.flatnonzero(labels == np.bincount(labels).argmax())


def place_on_nodes(
    nodes: pd.DataFrame,
    walk: pd.DataFrame,
    n_demand: int,
    n_facilities: int,
    n_functions: int,
) -> Placement:
    """Demand points and facilities exactly at distinct random nodes of the main component.

    Demand nodes are distinct, facility nodes are distinct (a facility may share a node
    with a demand point: distance 0).  Facility ``i`` gets function ``F{i % n_functions}``.
    """
    pool = main_component(nodes, walk)
    if n_demand > pool.size or n_facilities > pool.size:
        raise ValueError(f"the main component has {pool.size} nodes; asked for {n_demand} / {n_facilities}")
    xy = nodes[["x", "y"]].to_numpy(dtype=np.float64)
    dem = np.sort(np.random.default_rng(DEMAND_SEED).choice(pool, size=n_demand, replace=False))
    fac = np.sort(np.random.default_rng(FACILITY_SEED).choice(pool, size=n_facilities, replace=False))
    groups = tuple(f"F{j}" for j in range(n_functions))
    labels = np.array([groups[i % n_functions] for i in range(n_facilities)], dtype=object)
    return Placement(demand_xy=xy[dem], facility_xy=xy[fac], facility_group=labels, groups=groups)


def off_node_points(nodes: pd.DataFrame, walk: pd.DataFrame, n: int) -> np.ndarray:
    """``n`` points uniformly in discs of radius :data:`OFF_NODE_RADIUS_M` around random main-component nodes."""
    rng = np.random.default_rng(OFF_NODE_SEED)
    pool = main_component(nodes, walk)
    centre = nodes[["x", "y"]].to_numpy(dtype=np.float64)[rng.choice(pool, size=n, replace=True)]
    r = OFF_NODE_RADIUS_M * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    return centre + np.column_stack([r * np.cos(a), r * np.sin(a)])


@dataclass(frozen=True)
class CrossCheck:
    """Agreement of two ``(n_demand, n_groups)`` distance tables (metres, ``inf`` = none found).

    Attributes
    ----------
    n_pairs
        Number of (demand point, function) pairs.
    n_found_ours, n_found_peer
        Pairs with a facility within the limit, each side.
    max_abs_diff_m
        Largest difference over pairs both sides found.
    n_mismatch
        Pairs differing by more than the tolerance, or found by one side only (a pair
        found by one side only at a distance within the tolerance of the limit is a
        boundary case, not a mismatch).
    n_boundary
        Pairs found by one side only, within the tolerance of the limit.
    """

    n_pairs: int
    n_found_ours: int
    n_found_peer: int
    max_abs_diff_m: float
    n_mismatch: int
    n_boundary: int

    def summary(self, tolerance_m: float = TOLERANCE_M) -> str:
        """One line for the report."""
        return (
            f"{self.n_pairs:,} (demand, function) pairs; found within the limit: ours {self.n_found_ours:,}, "
            f"pandana {self.n_found_peer:,}; max |diff| {self.max_abs_diff_m:.3f} m over pairs both found; "
            f"{self.n_mismatch} pairs differ by more than {tolerance_m:g} m; "
            f"{self.n_boundary} found by one side only within {tolerance_m:g} m of the limit"
        )


def cross_check(ours: np.ndarray, peer: np.ndarray, max_dist_m: float, tolerance_m: float = TOLERANCE_M) -> CrossCheck:
    """Compare two distance tables pair by pair (see :class:`CrossCheck`).

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    if ours.shape != peer.shape:
        raise ValueError(f"shapes differ: ours {ours.shape}, peer {peer.shape}")
    fo, fp = np.isfinite(ours), np.isfinite(peer)
    both = fo & fp
    diff = np.abs(ours[both] - peer[both])
    one = fo ^ fp
    one_value = np.where(fo, ours, peer)[one]
    boundary = one_value >= max_dist_m - tolerance_m
    return CrossCheck(
        n_pairs=int(ours.size),
        n_found_ours=int(fo.sum()),
        n_found_peer=int(fp.sum()),
        max_abs_diff_m=float(diff.max(initial=0.0)),
        n_mismatch=int((diff > tolerance_m).sum() + (~boundary).sum()),
        n_boundary=int(boundary.sum()),
    )


def off_node_summary(ours: np.ndarray, peer: np.ndarray) -> str:
    """Distribution of ours - pandana over pairs both found (off-node points)."""
    both = np.isfinite(ours) & np.isfinite(peer)
    d = ours[both] - peer[both]
    if d.size == 0:
        return "no pair found by both sides"
    p = np.percentile(d, [1, 5, 25, 50, 75, 95, 99])
    return (
        f"ours - pandana over {d.size:,} pairs both found (of {ours.size:,}): "
        f"p1 {p[0]:+.1f}, p5 {p[1]:+.1f}, p25 {p[2]:+.1f}, median {p[3]:+.1f}, p75 {p[4]:+.1f}, "
        f"p95 {p[5]:+.1f}, p99 {p[6]:+.1f} m; |diff| <= 1 m: {np.mean(np.abs(d) <= 1):.1%}, "
        f"<= 10 m: {np.mean(np.abs(d) <= 10):.1%}, <= 50 m: {np.mean(np.abs(d) <= 50):.1%}; "
        f"found by ours only {int((np.isfinite(ours) & ~np.isfinite(peer)).sum()):,}, "
        f"by pandana only {int((~np.isfinite(ours) & np.isfinite(peer)).sum()):,}"
    )


@dataclass
class Row:
    """One line of the result table."""

    method: str
    detail: MeasurementDetail
    warm: bool
    note: str = ""

    @property
    def time_s(self) -> float:
        """Median warm time if measured, else median first-call time."""
        return self.detail.median_s

    def spread(self) -> str:
        """All repeats' times, for the spread."""
        times = self.detail.warm_s if self.warm else self.detail.cold_s
        return ", ".join(f"{t:.2f}" for t in times)


def _table(rows: list[Row], peer_name: str) -> tuple[list[str], list[list[str]]]:
    peer = next(r.time_s for r in rows if r.method == peer_name)
    header = ["method", "time s", "repeats s", "cold s", "speed-up vs pandana", "peak MB", "note"]
    cells = [
        [
            r.method,
            f"{r.time_s:.2f}",
            r.spread(),
            f"{r.detail.median_cold_s:.2f}",
            f"{peer / r.time_s:.1f}x",
            f"{r.detail.peak_rss_mb:.0f}",
            r.note,
        ]
        for r in rows
    ]
    return header, cells


def _measure(name: str, fn: Any, *fn_args: Any, repeat: int, warm: bool, note: str = "") -> Row:
    print(f"  {name} ({repeat} fresh process{'es' if repeat > 1 else ''}) ...", flush=True)
    return Row(name, measure_detailed(fn, *fn_args, repeat=repeat, warm=warm), warm, note)


def _pandana_version() -> str:
    from importlib.metadata import version

    return f"pandana {version('pandana')}, pandas {pd.__version__}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring); return the exit status."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_coverage", description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=300_000, help="city size in nodes (default 300000)")
    p.add_argument("--demand", type=int, default=100_000, help="demand points, at nodes (default 100000)")
    p.add_argument("--facilities", type=int, default=1_000, help="facilities, at nodes (default 1000)")
    p.add_argument("--functions", type=int, default=6, help="function labels (default 6)")
    p.add_argument("--max-dist-m", type=float, default=3_000.0, help="search limit, metres (default 3000)")
    p.add_argument("--seed", type=int, default=0, help="city seed (default 0)")
    p.add_argument("--repeat", type=int, default=3, help="repeats of our methods, fresh process each (default 3)")
    p.add_argument("--peer-repeat", type=int, default=1, help="repeats of pandana, fresh process each (default 1)")
    p.add_argument("--markdown", type=Path, help="also write the result table as Markdown to this file")
    args = p.parse_args(argv)

    print(_environment() + "; " + _pandana_version())
    t0 = time.perf_counter()
    nodes, edges = make_city(args.nodes, seed=args.seed)
    walk = walk_edges(edges)
    print(
        f"city: {len(nodes):,} nodes, {len(edges):,} directed edges ({len(walk):,} walkable), seed {args.seed}; "
        f"{time.perf_counter() - t0:.1f} s"
    )
    place = place_on_nodes(nodes, walk, args.demand, args.facilities, args.functions)
    off_xy = off_node_points(nodes, walk, args.demand)
    inputs = pandana_inputs(nodes, walk)
    limit = args.max_dist_m
    print(
        f"{args.demand:,} demand points and {args.facilities:,} facilities at distinct random nodes "
        f"(seeds {DEMAND_SEED}, {FACILITY_SEED}), {args.functions} functions, limit {limit:g} m"
    )

    print("cross-check (in this process, not timed):", flush=True)
    t0 = time.perf_counter()
    graph = build_ours(nodes, edges)
    dem, fac = snap_ours(graph, place.demand_xy, place.facility_xy)
    ours = query_ours(graph, dem, fac, place.facility_group, place.groups, limit)
    off_dem, _ = snap_ours(graph, off_xy, place.facility_xy[:1])
    ours_off = query_ours(graph, off_dem, fac, place.facility_group, place.groups, limit)
    print(
        f"  ours: {time.perf_counter() - t0:.1f} s; largest access leg on node-placed points {dem.access_m.max():.1e} m"
    )
    t0 = time.perf_counter()
    pnet = build_pandana(inputs)
    t_build = time.perf_counter() - t0
    table = node_distances(pnet, place.facility_xy, place.facility_group, place.groups, limit)
    peer = demand_distances(pnet, table, place.demand_xy, limit)
    peer_off = demand_distances(pnet, table, off_xy, limit)
    print(f"  pandana: build {t_build:.1f} s, all {time.perf_counter() - t0:.1f} s", flush=True)
    check = cross_check(ours, peer, limit)
    off_line = off_node_summary(ours_off, peer_off)
    del pnet, table
    print("  node-placed points: " + check.summary())
    print(f"  off-node demand points (informational, pandana's node-snapping approximation): {off_line}")

    print("measuring:", flush=True)
    peer_name = "pandana: Network + set_pois + nearest_pois + get_node_ids"
    rows = [
        _measure(
            peer_name,
            nearest_pandana,
            inputs,
            place.demand_xy,
            place.facility_xy,
            place.facility_group,
            place.groups,
            limit,
            repeat=args.peer_repeat,
            warm=False,
            note=f"end to end, first call; {args.peer_repeat} run(s)",
        ),
        _measure(
            "**ours** end to end: network_from_gdfs + cost_graph + snap_points + nearest_facilities",
            run_ours,
            nodes,
            edges,
            place.demand_xy,
            place.facility_xy,
            place.facility_group,
            place.groups,
            limit,
            repeat=args.repeat,
            warm=False,
            note="end to end, first call",
        ),
    ]
    fresh = build_ours(nodes, edges)  # no STRtree yet: the cold snap builds it
    rows.append(
        _measure(
            "ours: snap_points (demand + facilities)",
            snap_ours,
            fresh,
            place.demand_xy,
            place.facility_xy,
            repeat=args.repeat,
            warm=True,
            note="warm; cold includes the STRtree build",
        )
    )
    rows.append(
        _measure(
            "**ours: nearest_facilities** (snapped points given)",
            query_ours,
            graph,
            dem,
            fac,
            place.facility_group,
            place.groups,
            limit,
            repeat=args.repeat,
            warm=True,
            note=f"warm; {args.functions} multi-source Dijkstras",
        )
    )
    for r in rows:
        d = r.detail
        print(
            f"  {r.method}: cold {', '.join(f'{t:.2f}' for t in d.cold_s)} s; "
            f"warm {', '.join(f'{t:.2f}' for t in d.warm_s) or '-'} s; "
            f"peak +{', '.join(f'{m:.0f}' for m in d.peaks_mb)} MB ({d.memory_method}); "
            f"pairs found {', '.join(f'{n:,}' for n in d.reached)}"
        )
    header, cells = _table(rows, peer_name)
    check_line = f"Cross-check, node-placed points (target: identical within {TOLERANCE_M:g} m): {check.summary()}."
    off_md = (
        f"Informational, {args.demand:,} demand points off the nodes (uniform within {OFF_NODE_RADIUS_M:g} m of "
        f"random nodes; facilities at nodes): ours snaps onto the nearest edge and walks the access leg, pandana "
        f"uses the nearest node (its node-snapping approximation, not an error of either): {off_line}."
    )
    print()
    print(_format_text(header, cells))
    print(check_line)
    print(off_md)
    if args.markdown is not None:
        title = (
            f"Coverage: {len(nodes):,}-node synthetic city, {args.demand:,} demand points, {args.facilities:,} "
            f"facilities in {args.functions} functions, limit {limit:g} m"
        )
        md = "\n\n".join(
            [
                f"### {title}",
                _format_markdown(header, cells),
                check_line,
                off_md,
                f"pandana build in the check process: {t_build:.1f} s.",
                _environment() + "; " + _pandana_version(),
                TIME_NOTE,
            ]
        )
        args.markdown.write_text(md + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0 if check.n_mismatch == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
