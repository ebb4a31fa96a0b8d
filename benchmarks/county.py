"""A reproducible synthetic county: streets as an OSM extract, buildings, and the county's ledgers.

Issue 17 measures the product at the scale of a real county.  This module writes one, from
:func:`benchmarks.city.make_city` (a perturbed-grid walk network in UTM 50N around Quanzhou),
as a planner would hand it over:

* ``county.osm.pbf`` — every street of the city as an OSM way (one per street segment, with
  its bends as OSM nodes; motorways one-way), plus the residential buildings as closed ways
  (``building=residential``, ``building:levels``);
* ``小区台账.csv`` — the compound ledger: one row per compound (名称, 户数, 人口, 经度, 纬度,
  所属社区, 所属乡镇), ``households`` households in all (default 350,000);
* ``设施台账.csv`` — the facility ledger: ``facilities`` rows (default 1,000) with everyday
  category names (邻里中心, 卫生院, 村卫生室, 幼儿园, 养老院, 农贸市场 ...) over the six
  functions;
* ``project.toml`` — the study area (WGS84 ledgers, EPSG:32650).

Residents are clustered as in a county: a county seat (about a tenth of the households),
a dozen towns and villages spread over the rest; facilities sit near residents.  Everything
is drawn from one seeded generator, so the same arguments give the same files.

Usage::

    python -m benchmarks.county --nodes 300000 --out benchmarks/.county/300k
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyproj
import shapely

from benchmarks.city import CRS, make_city

logger = logging.getLogger(__name__)

__all__ = ["FACILITY_CATEGORIES", "county_dir", "run_sizes", "write_county"]

#: Category names of the facility ledger with their shares (everyday names the vocabulary knows).
FACILITY_CATEGORIES = {
    "邻里中心": 0.04,
    "便民服务中心": 0.06,
    "党群服务中心": 0.05,
    "卫生院": 0.03,
    "社区卫生服务站": 0.06,
    "村卫生室": 0.08,
    "诊所": 0.07,
    "幼儿园": 0.10,
    "托育机构": 0.04,
    "养老院": 0.03,
    "日间照料中心": 0.05,
    "居家养老服务站": 0.05,
    "长者食堂": 0.03,
    "农贸市场": 0.05,
    "菜市场": 0.04,
    "社区食堂": 0.03,
    "文化活动站": 0.08,
    "近邻学堂": 0.03,
    "公园": 0.04,
    "警务室": 0.04,
}
#: Persons per household (2020 census, as in geo.settings) and compounds' mean size.
PERSONS_PER_HOUSEHOLD = 2.62
MEAN_COMPOUND_HOUSEHOLDS = 175
#: Share of the households in the county seat, and the number of other towns.
SEAT_SHARE = 0.10
TOWNS = 12
BUILDINGS_PER_COMPOUND = (3, 9)
WGS84 = "EPSG:4326"


def county_dir(n_nodes: int, seed: int = 0) -> Path:
    """The default folder of a county of ``n_nodes`` (under ``benchmarks/.county``, not committed)."""
    return Path(__file__).parent / ".county" / f"{n_nodes // 1000}k-s{seed}"


def _centres(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Town centres (x, y, spread in metres): the seat near the middle, towns elsewhere."""
    lo_x, hi_x, lo_y, hi_y = x.min(), x.max(), y.min(), y.max()
    cx = np.concatenate([[0.5 * (lo_x + hi_x)], rng.uniform(lo_x, hi_x, TOWNS)])
    cy = np.concatenate([[0.5 * (lo_y + hi_y)], rng.uniform(lo_y, hi_y, TOWNS)])
    span = min(hi_x - lo_x, hi_y - lo_y)
    spread = np.concatenate([[0.06 * span], rng.uniform(0.03, 0.06, TOWNS) * span])
    return cx, cy, spread


def _compounds(rng: np.random.Generator, nodes_xy: np.ndarray, households: int) -> dict[str, np.ndarray]:
    """Compound centres near street nodes, clustered in the seat, the towns and the countryside."""
    x, y = nodes_xy[:, 0], nodes_xy[:, 1]
    n = max(1, round(households / MEAN_COMPOUND_HOUSEHOLDS))
    cx, cy, spread = _centres(rng, x, y)
    # Each compound belongs to the seat, a town or the countryside (uniform over the streets).
    seat = round(SEAT_SHARE * n)
    rural = round(0.25 * n)
    town = n - seat - rural
    which = np.concatenate([np.zeros(seat, int), rng.integers(1, TOWNS + 1, town), np.full(rural, -1)])
    px = np.where(which >= 0, cx[np.maximum(which, 0)] + rng.normal(0, 1, n) * spread[np.maximum(which, 0)], 0.0)
    py = np.where(which >= 0, cy[np.maximum(which, 0)] + rng.normal(0, 1, n) * spread[np.maximum(which, 0)], 0.0)
    # Snap each wanted position to the nearest street node (countryside: a random node), then step 35 m off it.
    tree = shapely.STRtree(shapely.points(nodes_xy))
    anywhere = rng.integers(0, len(x), n)
    near = np.where(which >= 0, tree.nearest(shapely.points(px, py)), anywhere)
    angle = rng.uniform(0, 2 * np.pi, n)
    ox, oy = x[near] + 35.0 * np.cos(angle), y[near] + 35.0 * np.sin(angle)
    size = rng.gamma(4.0, MEAN_COMPOUND_HOUSEHOLDS / 4.0, n)
    hh = np.maximum(8, np.round(size * households / size.sum())).astype(np.int64)
    hh[np.argmax(hh)] += households - int(hh.sum())  # exactly ``households`` in all
    return {"x": ox, "y": oy, "households": hh, "town": which}


def _buildings(rng: np.random.Generator, comp: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rectangular residential buildings around each compound centre: (rings (k, 5, 2), levels, compound)."""
    n = len(comp["x"])
    count = rng.integers(BUILDINGS_PER_COMPOUND[0], BUILDINGS_PER_COMPOUND[1] + 1, n)
    owner = np.repeat(np.arange(n), count)
    k = len(owner)
    slot = np.arange(k) - np.repeat(np.cumsum(count) - count, count)
    # Buildings in rows of three, 28 m apart, 12 x 40 m slabs (rural: 10 x 14 m houses).
    rural = comp["town"][owner] < 0
    w = np.where(rural, 10.0, 12.0)
    h = np.where(rural, 14.0, 40.0)
    bx = comp["x"][owner] + (slot % 3 - 1) * 28.0
    by = comp["y"][owner] + (slot // 3 - 1) * (np.where(rural, 20.0, 50.0))
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    rings = np.empty((k, 5, 2))
    rings[:, :, 0] = bx[:, None] + corners[None, :, 0] * w[:, None]
    rings[:, :, 1] = by[:, None] + corners[None, :, 1] * h[:, None]
    # Levels so that footprint x levels / 35 m² per person roughly gives the compound's residents.
    persons = comp["households"][owner] / count[owner] * PERSONS_PER_HOUSEHOLD
    levels = np.clip(np.round(persons * 35.0 / (w * h)), 1, 33).astype(int)
    return rings, levels, owner


def _facilities(rng: np.random.Generator, comp: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """``n`` facilities near compounds (weighted by households), with categories in their shares."""
    names = np.array(list(FACILITY_CATEGORIES))
    share = np.array(list(FACILITY_CATEGORIES.values()))
    category = names[rng.choice(len(names), size=n, p=share / share.sum())]
    at = rng.choice(len(comp["x"]), size=n, p=comp["households"] / comp["households"].sum())
    angle = rng.uniform(0, 2 * np.pi, n)
    return {
        "x": comp["x"][at] + 60.0 * np.cos(angle),
        "y": comp["y"][at] + 60.0 * np.sin(angle),
        "category": category,
    }


def _write_pbf(path: Path, nodes, edges, rings: np.ndarray, levels: np.ndarray, to_wgs84) -> tuple[int, int]:
    """Streets (one way per segment, bends as nodes) and buildings into an OSM PBF file."""
    import osmium

    one = edges[~edges["reversed"].to_numpy()]  # each street once; motorway carriageways are both kept
    u = one.index.get_level_values("u").to_numpy()
    v = one.index.get_level_values("v").to_numpy()
    node_ids = nodes.index.to_numpy()
    lon, lat = to_wgs84.transform(nodes["x"].to_numpy(), nodes["y"].to_numpy())
    coords = shapely.get_coordinates(one.geometry.to_numpy())
    parts = shapely.get_num_coordinates(one.geometry.to_numpy())
    next_id = int(node_ids.max()) + 1
    inner = parts - 2  # bend vertices, new OSM nodes
    bend_start = np.concatenate([[0], np.cumsum(parts)[:-1]])
    bend_rows = np.concatenate([np.arange(s + 1, s + p - 1) for s, p in zip(bend_start, parts, strict=True) if p > 2])
    bend_lon, bend_lat = to_wgs84.transform(coords[bend_rows, 0], coords[bend_rows, 1])
    bend_ids = next_id + np.arange(len(bend_rows))
    next_id += len(bend_rows)
    ring_lon, ring_lat = to_wgs84.transform(rings[:, :4, 0].ravel(), rings[:, :4, 1].ravel())
    ring_ids = next_id + np.arange(len(ring_lon))
    highway = one["highway"].to_numpy()
    oneway = one["oneway"].to_numpy()
    if path.exists():
        path.unlink()
    with osmium.SimpleWriter(str(path)) as writer:
        for i, lo, la in zip(node_ids.tolist(), lon.tolist(), lat.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=i, location=(lo, la), version=1))
        for i, lo, la in zip(bend_ids.tolist(), bend_lon.tolist(), bend_lat.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=i, location=(lo, la), version=1))
        for i, lo, la in zip(ring_ids.tolist(), ring_lon.tolist(), ring_lat.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=i, location=(lo, la), version=1))
        b = 0
        for k in range(len(one)):
            refs = [int(u[k]), *bend_ids[b : b + inner[k]].tolist(), int(v[k])]
            b += inner[k]
            tags = {"highway": str(highway[k])}
            if oneway[k]:
                tags["oneway"] = "yes"
            writer.add_way(osmium.osm.mutable.Way(id=k + 1, nodes=refs, tags=tags, version=1))
        first = len(one) + 1
        for k in range(len(rings)):
            ids = ring_ids[4 * k : 4 * k + 4].tolist()
            tags = {"building": "residential", "building:levels": str(int(levels[k]))}
            writer.add_way(osmium.osm.mutable.Way(id=first + k, nodes=[*ids, ids[0]], tags=tags, version=1))
    return len(one), len(rings)


def write_county(
    folder: Path | str | None = None,
    n_nodes: int = 300_000,
    *,
    seed: int = 0,
    facilities: int = 1_000,
    households: int = 350_000,
) -> Path:
    """Write the synthetic county's files into ``folder``; return its ``project.toml``.

    A folder that already holds the same county (same arguments, recorded in the project
    file) is reused as it is.
    """
    folder = Path(folder) if folder is not None else county_dir(n_nodes, seed)
    project = folder / "project.toml"
    signature = f"# county n_nodes={n_nodes} seed={seed} facilities={facilities} households={households}"
    if project.is_file() and project.read_text(encoding="utf-8").startswith(signature):
        return project
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rng = np.random.default_rng(seed + 17)
    nodes, edges = make_city(n_nodes, seed=seed)
    to_wgs84 = pyproj.Transformer.from_crs(CRS, WGS84, always_xy=True)
    comp = _compounds(rng, nodes[["x", "y"]].to_numpy(), households)
    rings, levels, _owner = _buildings(rng, comp)
    fac = _facilities(rng, comp, facilities)
    streets, buildings = _write_pbf(folder / "county.osm.pbf", nodes, edges, rings, levels, to_wgs84)

    lon, lat = to_wgs84.transform(comp["x"], comp["y"])
    town = np.where(comp["town"] < 0, "乡村", np.where(comp["town"] == 0, "城关镇", ""))
    with open(folder / "小区台账.csv", "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["小区编号", "小区名称", "户数", "人口", "经度", "纬度", "所属乡镇"])
        for k in range(len(lon)):
            name = town[k] or f"第{int(comp['town'][k])}镇"
            people = round(int(comp["households"][k]) * PERSONS_PER_HOUSEHOLD)
            out.writerow(
                [
                    f"XQ{k + 1:05d}",
                    f"{name}小区{k + 1}",
                    int(comp["households"][k]),
                    people,
                    f"{lon[k]:.6f}",
                    f"{lat[k]:.6f}",
                    name,
                ]
            )
    flon, flat = to_wgs84.transform(fac["x"], fac["y"])
    with open(folder / "设施台账.csv", "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["设施编号", "设施名称", "设施类别", "经度", "纬度"])
        for k in range(len(flon)):
            category = str(fac["category"][k])
            out.writerow([f"SS{k + 1:04d}", f"{category}{k + 1}", category, f"{flon[k]:.6f}", f"{flat[k]:.6f}"])
    project.write_text(
        "\n".join(
            [
                signature,
                "# Synthetic county for the benchmarks (benchmarks/county.py): made-up streets, buildings and ledgers.",
                f'name = "合成县 {n_nodes // 1000}k（基准测试）"',
                'boundary = "none"',
                'network = "county.osm.pbf"',
                'facilities = "设施台账.csv"',
                'facilities_system = "wgs84"',
                'demand = "小区台账.csv"',
                'demand_system = "wgs84"',
                'profile = "walk"',
                "epsg = 32650",
                "",
            ]
        ),
        encoding="utf-8",
    )
    logger.info(
        "county %s: %d nodes, %d streets, %d buildings, %d compounds, %d facilities in %.0f s",
        folder,
        n_nodes,
        streets,
        buildings,
        len(lon),
        facilities,
        time.perf_counter() - start,
    )
    return project


def run_sizes(
    argv: list[str] | None,
    *,
    prog: str,
    description: str,
    bench: Callable[[int, Path], dict],
    header: list[str],
    row: Callable[[dict], str],
) -> int:
    """The command line of a county benchmark: ``bench(n_nodes, work)`` for each ``--nodes``, a table.

    Each size's result is printed as JSON as soon as it is measured; the Markdown table
    (``header`` lines, then ``row(result)`` per size) is printed and written to ``--markdown``.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--nodes", type=int, nargs="+", default=[50_000, 150_000, 300_000])
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"linli-{prog.rsplit('.', 1)[-1]}-") as tmp:
        for n in args.nodes:
            rows.append(bench(n, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    lines = [*header, *(row(r) for r in rows)]
    text = "\n".join(lines) + f"\n\n{platform.python_version()}, {os.cpu_count()} CPUs\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Write a county; prints its project file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.county", description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--facilities", type=int, default=1_000)
    parser.add_argument("--households", type=int, default=350_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(write_county(args.out, args.nodes, seed=args.seed, facilities=args.facilities, households=args.households))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
