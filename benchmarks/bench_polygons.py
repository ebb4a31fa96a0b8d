"""Street-following service-area polygons: ours against buffering at query time.

    python -m benchmarks.bench_polygons [--nodes 50000] [--facilities 1000] [--ref-sample 100]

On the generated city (``benchmarks.city``), facilities at random intersections
(fixed seed), 15 minutes of walking at a speed pinned so that 15 minutes is 1200 m:

* ours, batch: one ``geo.access.service_area.service_areas`` call for all facilities
  (one batched Dijkstra, vectorised sample times, one coverage union per polygon);
  on one thread each facility's cost is its own union plus an equal share of the
  vectorised work (median and p90 reported); with the default two threads, the
  mean per facility;
* ours, one at a time: ``service_areas`` called for a single facility, as the web app
  does when a planner drops a candidate site (median over ``--ref-sample`` facilities);
* reference 1: ``shapely.buffer`` of each facility's reached pieces as one
  MultiLineString (median over the sample);
* reference 2: ``shapely.buffer`` of every reached piece, then ``shapely.union_all``.

The reached pieces are ours (``reached_streets``: exact cuts), so both sides buffer
the same street set; the area ratio ours / reference 2 is reported per facility.
The street cells are precomputed once per network (build time reported apart).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import shapely

from benchmarks.bench_reach import BENCH_MINUTES, _bench_profile, _environment, build_ours
from benchmarks.city import make_city
from geo import settings
from geo.access import reached as reached_module
from geo.access import service_area as service_area_module
from geo.access.service_area import reached_streets, service_areas, street_cells
from geo.network.snapping import snap_points


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--facilities", type=int, default=1000)
    parser.add_argument("--radius-m", type=float, default=1200.0)
    parser.add_argument("--ref-sample", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)

    nodes, edges = make_city(args.nodes, seed=0)
    t0 = time.perf_counter()
    net = build_ours(nodes, edges)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    cells = street_cells(net, cache_dir=None)
    t_cells = time.perf_counter() - t0
    rss_cells = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    graph = net.cost_graph(_bench_profile(args.radius_m))
    rng = np.random.default_rng(args.seed)
    src = rng.choice(nodes.index.to_numpy(), args.facilities, replace=False)
    xy = nodes.loc[src, ["x", "y"]].to_numpy(float)
    snapped = snap_points(graph, xy, crs=net.crs)
    minutes = [BENCH_MINUTES]

    service_areas(graph, snapped, minutes=minutes, cache_dir=None)  # warm
    t0 = time.perf_counter()
    ours = service_areas(graph, snapped, minutes=minutes, cache_dir=None)
    t_batch = time.perf_counter() - t0

    # Per-facility cost inside the batch, run serially: each facility's own union
    # (timed around every union_cells call) plus an equal share of the batch's
    # vectorised work (Dijkstra, sample times, street lengths, table).
    per_union: list[float] = []
    original = reached_module.union_cells

    def timed_union(*a, **kw):
        t = time.perf_counter()
        out = original(*a, **kw)
        per_union.append(time.perf_counter() - t)
        return out

    threads = service_area_module.UNION_THREADS
    reached_module.union_cells = timed_union
    service_area_module.UNION_THREADS = 0
    try:
        t0 = time.perf_counter()
        service_areas(graph, snapped, minutes=minutes, cache_dir=None)
        t_one_thread = time.perf_counter() - t0
    finally:
        reached_module.union_cells = original
        service_area_module.UNION_THREADS = threads
    shared = (t_one_thread - sum(per_union)) / args.facilities
    per_facility = np.asarray(per_union) + shared

    sample = rng.choice(args.facilities, min(args.ref_sample, args.facilities), replace=False)
    single = []
    for i in sample:
        one = snap_points(graph, xy[[i]], crs=net.crs)
        t0 = time.perf_counter()
        service_areas(graph, one, minutes=minutes, cache_dir=None)
        single.append(time.perf_counter() - t0)

    streets = reached_streets(graph, snapped, minutes=BENCH_MINUTES)
    by_origin = {o: g.geometry.to_numpy() for o, g in streets.groupby("origin")}
    area_ours = ours.set_index("origin")["area_m2"]
    t_multi, t_union, ratio = [], [], []
    for i in sample:
        pieces = by_origin[int(i)]
        t0 = time.perf_counter()
        shapely.buffer(shapely.multilinestrings(pieces), settings.STREET_BUFFER_M)
        t_multi.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = shapely.union_all(shapely.buffer(pieces, settings.STREET_BUFFER_M))
        t_union.append(time.perf_counter() - t0)
        ratio.append(area_ours[int(i)] / ref.area)
    ratio = np.asarray(ratio)
    err = np.abs(ratio - 1.0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = [
        (
            "ours, batch, serial (no union threads): per facility (median)",
            _ms(float(np.median(per_facility))),
            f"p90 {_ms(float(np.percentile(per_facility, 90)))}; own union median "
            f"{_ms(float(np.median(per_union)))} + shared {_ms(shared)}",
        ),
        (
            f"ours, batch, {service_area_module.UNION_THREADS} threads (mean per facility)",
            _ms(t_batch / args.facilities),
            "1 call for all facilities",
        ),
        (
            "ours, one facility per call (median)",
            _ms(float(np.median(single))),
            f"p90 {_ms(float(np.percentile(single, 90)))}",
        ),
        ("reference: buffer(MultiLineString) (median)", _ms(float(np.median(t_multi))), ""),
        ("reference: buffer per piece + union_all (median)", _ms(float(np.median(t_union))), ""),
    ]
    header = ("method", "ms per facility", "note")
    lines = [f"| {' | '.join(header)} |", "|---|---:|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    summary = (
        f"{net.n_nodes:,}-node city, {net.n_edges:,} edges; {args.facilities} facilities, "
        f"{BENCH_MINUTES:g} min = {args.radius_m:g} m, street buffer {settings.STREET_BUFFER_M:g} m; "
        f"network build {t_net:.1f} s, street cells {t_cells:.1f} s ({cells.sample_edge.size:,} samples, "
        f"peak RSS after cells {rss_cells:.0f} MB; cached on disk in use); "
        f"area ours / reference over {sample.size} facilities: median {np.median(ratio):.4f}, "
        f"min {ratio.min():.4f}, max {ratio.max():.4f} (max |error| {err.max() * 100:.2f} %); "
        f"speed-up of the batch over buffer+union_all: {np.median(t_union) / (t_batch / args.facilities):.0f}x; "
        f"peak RSS {peak_mb:.0f} MB."
    )
    text = "\n".join(lines) + "\n\n" + summary
    print(text)
    if args.markdown is not None:
        args.markdown.write_text(f"### Service-area polygons\n\n{text}\n\n{_environment()}\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
