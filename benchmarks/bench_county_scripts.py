"""The batch scripts on a synthetic county (issue 17): time, peak memory, cache and output size.

Usage::

    python -m benchmarks.bench_county_scripts [--nodes 50000 150000 300000] [--markdown FILE]

For each size a county is written by :mod:`benchmarks.county` (cached in ``benchmarks/.county``)
and every script runs as a planner runs it, in its own process (``python -m scripts.X``), with
its own cache folder:

* ``scripts.service_areas`` for 500 facilities of the ledger (the first 500 rows), 5/10/15
  minutes: **cold** (empty cache: the network read from the ``.osm.pbf``, the street cells
  built) and **warm**; peak memory of the process (``ru_maxrss``); the street-cell cache on disk;
* ``scripts.coverage`` of the project, warm (after a first run), without PNG maps;
* ``scripts.grids`` for the county seat (城关镇: the convex hull of its compounds, 200 m
  around, as the parent polygon) and for the whole county, warm;
* ``scripts.export_map --map coverage --format pdf --function medical``, warm: time and size
  of the PDF.

Targets (issue 17, at 300,000 nodes): service areas under 90 s cold and under 2 GB peak;
cell cache under 300 MB; coverage warm under 15 s; grids under 30 s (seat) and 60 s (county);
one PDF map under 10 s and 5 MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import shapely

from benchmarks.county import run_sizes, write_county

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
FACILITIES = 500


def run(args: list[str], cache: Path) -> tuple[float, float]:
    """Run ``python -m <args>``; (wall seconds, peak resident memory in GB). Raises on failure."""
    env = dict(os.environ, LINLI_CACHE_DIR=str(cache))
    start = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "-m", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}")
    peak_gb = usage.ru_maxrss * 1024 / 1e9
    print(f"  {args[0]}: {seconds:.1f} s, peak {peak_gb:.2f} GB", file=sys.stderr, flush=True)
    return seconds, peak_gb


def _folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _seat_polygon(project: Path, out: Path) -> Path:
    """The county seat's compounds' convex hull, 200 m around, as a GeoJSON parent polygon."""
    import geopandas as gpd

    compounds = pd.read_csv(project.parent / "小区台账.csv", encoding="utf-8-sig")
    seat = compounds[compounds["所属乡镇"] == "城关镇"]
    points = gpd.GeoSeries(gpd.points_from_xy(seat["经度"], seat["纬度"]), crs="EPSG:4326").to_crs("EPSG:32650")
    hull = shapely.convex_hull(shapely.multipoints(points.to_numpy())).buffer(200.0)
    frame = gpd.GeoDataFrame({"编码": ["350521100"], "名称": ["城关镇"]}, geometry=[hull], crs="EPSG:32650")
    frame.to_crs("EPSG:4326").to_file(out, driver="GeoJSON")
    return out


def bench(n_nodes: int, work: Path) -> dict:
    """Every script's figures for a county of ``n_nodes``."""
    project = write_county(None, n_nodes)
    folder = project.parent
    row: dict = {"nodes": n_nodes}
    facilities = work / f"facilities-{n_nodes}.csv"
    pd.read_csv(folder / "设施台账.csv", encoding="utf-8-sig").head(FACILITIES).to_csv(
        facilities, index=False, encoding="utf-8-sig"
    )
    cache = work / f"cache-{n_nodes}"
    sa = ["scripts.service_areas", "--network", str(folder / "county.osm.pbf"), "--facilities", str(facilities)]
    sa += ["--facilities-crs", "EPSG:4326", "--epsg", "32650", "--minutes", "5", "10", "15", "-q"]
    row["sa_cold_s"], row["sa_cold_gb"] = run([*sa, "--out", str(work / "sa-cold.gpkg")], cache)
    row["sa_warm_s"], row["sa_warm_gb"] = run([*sa, "--out", str(work / "sa-warm.gpkg")], cache)
    row["cells_mb"] = sum(_folder_mb(p) for p in cache.rglob("cells-*") if p.is_dir())
    cov = ["scripts.coverage", "--project", str(project), "--no-maps", "-q"]
    run([*cov, "--out", str(work / "cov-first")], cache)
    row["coverage_warm_s"], row["coverage_gb"] = run([*cov, "--out", str(work / "cov-warm")], cache)
    seat = _seat_polygon(project, work / f"seat-{n_nodes}.geojson")
    grids = ["scripts.grids", "--project", str(project), "--no-coverage", "-q"]
    run([*grids, "--parent", str(seat), "--out", str(work / "grids-first.gpkg")], cache)
    row["grids_seat_s"], row["grids_seat_gb"] = run(
        [*grids, "--parent", str(seat), "--out", str(work / "grids-seat.gpkg")], cache
    )
    row["grids_county_s"], row["grids_county_gb"] = run([*grids, "--out", str(work / "grids-county.gpkg")], cache)
    pdf_dir = work / f"pdf-{n_nodes}"
    export = ["scripts.export_map", "--project", str(project), "--map", "coverage", "--function", "medical"]
    export += ["--format", "pdf", "--out", str(pdf_dir)]
    row["pdf_s"], row["pdf_gb"] = run(export, cache)
    row["pdf_mb"] = max(p.stat().st_size for p in pdf_dir.glob("*.pdf")) / 1e6
    return row


def _row(r: dict) -> str:
    return (
        f"| {r['nodes']:,} | {r['sa_cold_s']:.0f} / {r['sa_cold_gb']:.2f} | {r['sa_warm_s']:.0f} / "
        f"{r['sa_warm_gb']:.2f} | {r['cells_mb']:.0f} | {r['coverage_warm_s']:.1f} | {r['grids_seat_s']:.1f} "
        f"| {r['grids_county_s']:.1f} / {r['grids_county_gb']:.2f} | {r['pdf_s']:.1f} / {r['pdf_mb']:.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    header = [
        "| nodes | service areas (500) cold s / peak GB | warm s / peak GB | cell cache MB | coverage warm s "
        "| grids seat s | grids county s / peak GB | PDF map s / MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return run_sizes(
        argv,
        prog="python -m benchmarks.bench_county_scripts",
        description=__doc__.split("\n")[0],
        bench=bench,
        header=header,
        row=_row,
    )


if __name__ == "__main__":
    sys.exit(main())
