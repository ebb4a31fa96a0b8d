"""Batches on Dask: a generated "province" of demo-sized areas, 2 local workers vs the plain loop.

    python -m benchmarks.bench_batch [--areas 20] [--workers 2] [--kind coverage] [--no-maps]
        [--markdown benchmarks/results/bench_batch.md]

The province: ``--areas`` project files under ``benchmarks/results/province/``, each a
different sub-area (a polygon GeoJSON) of the bundled demo extract (central Helsinki,
© OpenStreetMap contributors), with the demo's facilities and buildings.  The walk
network of an area is clipped to its polygon plus ``settings.CLIP_BUFFER_M`` (2 km),
so every area's network is about the whole demo network (4,428 edges) — demo-sized
work — but each has its own cache entry, like distinct counties.  Areas alternate the
walk and elderly-walk profiles, so their results differ.

Timed (wall clock, ``time.perf_counter``):

1. cache warm-up: one sequential pass builds every area's network cache (not timed
   against anything; reported);
2. the sequential batch: :func:`scripts.batch.run_batch` with ``workers=1`` (a plain
   loop in this process);
3. the Dask batch: ``workers=2`` on a fresh local cluster of single-threaded worker
   processes, with and without the cluster's start-up.

Results must be identical: every area's summary rows and its written CSV tables are
compared.  Peak memory: each worker's peak resident set (``ru_maxrss``) as reported
by its tasks, and this process's for the sequential run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.io.crs import WGS84
from geo.network.graph import load_network

RESULTS = Path(__file__).resolve().parent / "results"
#: Profiles the generated areas alternate between.
PROFILES = ("walk", "elderly")


def write_demo_province(folder: Path, n_areas: int) -> list[Path]:
    """Write ``n_areas`` project files, each a different sub-area of the demo extract.

    Each boundary is a rectangle of 60 % x 60 % of the demo network's extent, placed
    on a 5 x 5 lattice of offsets (then a small rotation for areas past 25), in WGS84.

    Returns
    -------
    list of Path
        The project TOML files, in order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    net = load_network("demo")
    minx, miny, maxx, maxy = net.bounds
    w, h = (maxx - minx) * 0.6, (maxy - miny) * 0.6
    paths = []
    for k in range(n_areas):
        i, j = k % 5, (k // 5) % 5
        x0 = minx + i * (maxx - minx - w) / 4
        y0 = miny + j * (maxy - miny - h) / 4
        box = shapely.box(x0, y0, x0 + w, y0 + h)
        if k >= 25:
            box = shapely.affinity.rotate(box, 3.0 * (k // 25), origin="centroid")
        boundary = folder / f"area{k:02d}.geojson"
        gpd.GeoDataFrame({"name": [f"area {k}"]}, geometry=[box], crs=net.crs).to_crs(WGS84).to_file(
            boundary, driver="GeoJSON", engine="pyogrio"
        )
        path = folder / f"area{k:02d}.toml"
        path.write_text(
            f'name = "演示分区 {k:02d}"\nboundary = "{boundary.name}"\nnetwork = "demo"\n'
            f'facilities = "osm"\ndemand = "buildings"\nprofile = "{PROFILES[k % len(PROFILES)]}"\n',
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def area_tables(out: Path, kind: str) -> dict[str, pd.DataFrame]:
    """The CSV tables each area wrote, by area folder name (for equality checks)."""
    name = {"coverage": "coverage.csv", "standard": "standard_check.csv", "service_areas": None}[kind]
    tables = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        if name is not None and (folder / name).is_file():
            tables[folder.name] = pd.read_csv(folder / name, encoding="utf-8-sig")
        elif name is None and (folder / "service_areas.gpkg").is_file():
            frame = gpd.read_file(folder / "service_areas.gpkg", layer="服务范围")
            tables[folder.name] = pd.DataFrame(frame.drop(columns="geometry")).assign(wkb=frame.geometry.to_wkb())
    return tables


def _spin(n: int = 20_000_000) -> float:
    """Seconds of a pure-Python loop (one core's worth of work, no memory traffic)."""
    start = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - start


def parallel_capacity() -> float:
    """Cores this machine gives two busy processes right now: 2 x one loop / two loops side by side.

    2.0 on two idle cores; less when the host (a VM) or other work takes its share.
    """
    import multiprocessing

    alone = min(_spin() for _ in range(2))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # start-up outside the timing
        start = time.perf_counter()
        pool.map(_spin, [20_000_000, 20_000_000], chunksize=1)
        pair = time.perf_counter() - start
    return 2 * alone / pair


def _busy() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=False).stdout
    return [
        line.strip()
        for line in out.splitlines()
        if ("bench" in line or "pytest" in line) and "bench_batch" not in line and "ps -eo" not in line
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints a markdown table and writes JSON next to it."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_batch")
    parser.add_argument("--areas", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kind", default="coverage", choices=("coverage", "service_areas", "standard"))
    parser.add_argument("--no-maps", action="store_true")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "bench_batch.md")
    args = parser.parse_args(argv)
    from scripts.batch import local_cluster, run_batch
    from scripts.batch_tasks import AreaOptions, peak_rss_mb

    busy = _busy()
    if busy:
        print("warning: other benchmark/test processes are running:\n  " + "\n  ".join(busy), file=sys.stderr)
    work = RESULTS / "province"
    projects = write_demo_province(work / "projects", args.areas)
    options = AreaOptions(maps=not args.no_maps)

    t = time.perf_counter()
    run_batch(args.kind, projects, work / "warmup", options=options, workers=1)
    warm_s = time.perf_counter() - t
    capacity_before = parallel_capacity()

    t = time.perf_counter()
    seq = run_batch(args.kind, projects, work / "sequential", options=options, workers=1)
    seq_s = time.perf_counter() - t
    seq_peak = peak_rss_mb()

    from distributed import Client

    t = time.perf_counter()
    cluster = local_cluster(args.workers)
    client = Client(cluster)
    start_s = time.perf_counter() - t
    try:
        t2 = time.perf_counter()
        par = run_batch(args.kind, projects, work / "dask", options=options, client=client)
        run_s = time.perf_counter() - t2
    finally:
        client.close()
        cluster.close()
    par_s = start_s + run_s
    capacity_after = parallel_capacity()

    assert not seq.failed and not par.failed, [o.error for o in seq.failed + par.failed]
    drop = ["project_file"]
    pd.testing.assert_frame_equal(seq.table().drop(columns=drop), par.table().drop(columns=drop))
    a, b = area_tables(work / "sequential", args.kind), area_tables(work / "dask", args.kind)
    assert a.keys() == b.keys() and len(a) == args.areas
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])
    status = par.status()
    per_worker = status.groupby("worker")["peak_rss_mb"].max()
    per_area = seq.status()["seconds"]
    figures = {
        "areas": args.areas,
        "kind": args.kind,
        "maps": not args.no_maps,
        "workers": args.workers,
        "warmup_s": round(warm_s, 2),
        "sequential_s": round(seq_s, 2),
        "dask_total_s": round(par_s, 2),
        "dask_cluster_start_s": round(start_s, 2),
        "dask_run_s": round(run_s, 2),
        "speedup_total": round(seq_s / par_s, 2),
        "speedup_run": round(seq_s / run_s, 2),
        "area_mean_s": round(float(per_area.mean()), 2),
        "area_max_s": round(float(per_area.max()), 2),
        "sequential_peak_rss_mb": round(seq_peak, 1),
        "worker_peak_rss_mb": {k: round(float(v), 1) for k, v in per_worker.items()},
        "areas_per_worker": status.groupby("worker").size().to_dict(),
        "identical": True,
        "parallel_capacity_before_after": [round(capacity_before, 2), round(capacity_after, 2)],
        "other_processes": busy,
    }
    lines = [
        f"| {args.areas} areas, {args.kind}{'' if not args.no_maps else ' (no maps)'} | seconds |",
        "|---|---:|",
        f"| cache warm-up (sequential, builds 20 network caches) | {warm_s:.1f} |",
        f"| sequential batch (plain loop, warm cache) | {seq_s:.1f} |",
        f"| Dask, {args.workers} workers, incl. cluster start ({start_s:.1f} s) | {par_s:.1f} |",
        f"| Dask, {args.workers} workers, batch only | {run_s:.1f} |",
        f"| speed-up incl. start / batch only | {seq_s / par_s:.2f}x / {seq_s / run_s:.2f}x |",
        f"| mean / max seconds per area (sequential) | {per_area.mean():.2f} / {per_area.max():.2f} |",
        f"| peak memory: sequential process | {seq_peak:.0f} MiB |",
        f"| machine's parallel capacity before / after (2 = two free cores) | "
        f"{capacity_before:.2f} / {capacity_after:.2f} |",
    ]
    for worker, peak in per_worker.items():
        lines.append(
            f"| peak memory: worker {worker.split(':')[-1]} ({figures['areas_per_worker'][worker]} areas) "
            f"| {peak:.0f} MiB |"
        )
    text = "\n".join(lines)
    print(text)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text + "\n", encoding="utf-8")
    args.markdown.with_suffix(".json").write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
