"""Microbenchmark of :mod:`geo.network.street_cells` on a synthetic perturbed-grid city.

Run with ``python -m benchmarks.bench_street_cells`` from the project root
(``--help`` for options).  It builds the cell coverage for a ~50k-node city,
simulates the reached street pieces of random facilities (all network points
within 1200 m, computed with ``scipy.sparse.csgraph.dijkstra``; the last
edges are partial) and compares, per facility,

* the cell route: :func:`select_samples` + :func:`union_cells`, and
* the reference: buffer each reached piece by ``w`` and ``union_all``,

in run time and polygon area.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from geo.network.street_cells import StreetCells, build_street_cells, select_samples, union_cells

# Synthetic city parameters.
GRID_STEP_M = 80.0  # mean block edge length
JITTER_M = 10.0  # uniform node perturbation (+-), gives edges of ~60-100 m
REMOVED_FRACTION = 0.12  # edges dropped at random for irregular blocks
CURVED_FRACTION = 0.25  # edges drawn as a bulging curve
CURVE_AMPLITUDE_M = 8.0  # maximum sideways bulge of a curved edge
CURVE_VERTICES = 5  # interior vertices of a curved edge
ORIGIN = (385_000.0, 6_670_000.0)  # realistic UTM coordinates (precision)
SEED = 20240615


@dataclass
class City:
    """Synthetic street network."""

    geometry: np.ndarray  # LineString per edge
    u: np.ndarray  # first node of each edge
    v: np.ndarray  # last node of each edge
    length: np.ndarray  # planar edge length (m)
    n_nodes: int


def make_city(n_nodes: int, seed: int = SEED) -> City:
    """Perturbed grid with removed edges and some curved edges.

    Parameters
    ----------
    n_nodes : int
        Approximate number of nodes (a square grid is used).
    seed : int
        Random seed.

    Returns
    -------
    City
        The network.
    """
    rng = np.random.default_rng(seed)
    side = round(math.sqrt(n_nodes))
    ix, iy = np.meshgrid(np.arange(side), np.arange(side), indexing="xy")
    node_id = iy * side + ix
    xy = np.column_stack([ix.ravel(), iy.ravel()]) * GRID_STEP_M
    xy = xy + rng.uniform(-JITTER_M, JITTER_M, xy.shape) + np.array(ORIGIN)
    horizontal = np.column_stack([node_id[:, :-1].ravel(), node_id[:, 1:].ravel()])
    vertical = np.column_stack([node_id[:-1, :].ravel(), node_id[1:, :].ravel()])
    pairs = np.vstack([horizontal, vertical])
    pairs = pairs[rng.random(pairs.shape[0]) >= REMOVED_FRACTION]
    a, b = xy[pairs[:, 0]], xy[pairs[:, 1]]

    curved = rng.random(pairs.shape[0]) < CURVED_FRACTION
    t = np.linspace(0.0, 1.0, CURVE_VERTICES + 2)
    bulge = rng.uniform(-CURVE_AMPLITUDE_M, CURVE_AMPLITUDE_M, pairs.shape[0])
    direction = b - a
    normal = np.column_stack([-direction[:, 1], direction[:, 0]])
    normal /= np.linalg.norm(normal, axis=1)[:, None]
    n_vertices = np.where(curved, CURVE_VERTICES + 2, 2)
    coords = []
    for k in np.flatnonzero(curved):
        offset = bulge[k] * np.sin(np.pi * t)[:, None] * normal[k]
        coords.append(a[k] + t[:, None] * direction[k] + offset)
    curved_coords = np.vstack(coords) if coords else np.zeros((0, 2))
    all_coords = np.empty((int(n_vertices.sum()), 2))
    start = np.cumsum(n_vertices) - n_vertices
    straight = ~curved
    all_coords[start[straight]] = a[straight]
    all_coords[start[straight] + 1] = b[straight]
    curved_index = (start[curved][:, None] + np.arange(CURVE_VERTICES + 2)).ravel()
    all_coords[curved_index] = curved_coords
    geometry = shapely.linestrings(all_coords, indices=np.repeat(np.arange(pairs.shape[0]), n_vertices))
    return City(geometry, pairs[:, 0], pairs[:, 1], shapely.length(geometry), xy.shape[0])


@dataclass
class Reach:
    """Reached street of one facility."""

    full_edges: np.ndarray
    part_edges: np.ndarray
    part_start: np.ndarray
    part_end: np.ndarray


def reached_sets(city: City, n_sources: int, limit_m: float, seed: int = SEED) -> list[Reach]:
    """Edges and edge pieces within ``limit_m`` network distance of sources.

    Parameters
    ----------
    city : City
        The network.
    n_sources : int
        Number of random source nodes (facilities).
    limit_m : float
        Walking distance (metres).
    seed : int
        Random seed.

    Returns
    -------
    list of Reach
        One per source.
    """
    rng = np.random.default_rng(seed + 1)
    graph = csr_matrix(
        (
            np.concatenate([city.length, city.length]),
            (np.concatenate([city.u, city.v]), np.concatenate([city.v, city.u])),
        ),
        shape=(city.n_nodes, city.n_nodes),
    )
    connected = np.flatnonzero(np.diff(graph.indptr) > 0)
    sources = rng.choice(connected, n_sources, replace=False)
    dist = dijkstra(graph, indices=sources, limit=limit_m)
    out = []
    for row in dist:
        out.append(reach_from_distances(row, city.u, city.v, city.length, limit_m))
    return out


def reach_from_distances(dist: np.ndarray, u: np.ndarray, v: np.ndarray, length: np.ndarray, limit_m: float) -> Reach:
    """Full edges and partial intervals given node distances.

    A point at position ``x`` of edge ``(u, v)`` is reached if
    ``min(d[u] + x, d[v] + L - x) <= limit``.

    Parameters
    ----------
    dist : numpy.ndarray
        Network distance of every node (inf if not reached).
    u, v, length : numpy.ndarray
        Edge end nodes and lengths.
    limit_m : float
        Walking distance.

    Returns
    -------
    Reach
        Full edges and partial ``[start, end]`` intervals.
    """
    with np.errstate(invalid="ignore"):
        ru = limit_m - dist[u]  # remaining walk at u (-inf if unreached)
        rv = limit_m - dist[v]
    full = (ru >= length) | (rv >= length) | ((ru >= 0) & (rv >= 0) & (ru + rv >= length))
    from_u = ~full & (ru > 0)
    from_v = ~full & (rv > 0)
    edges = np.concatenate([np.flatnonzero(from_u), np.flatnonzero(from_v)])
    start = np.concatenate([np.zeros(from_u.sum()), (length - rv)[from_v]])
    end = np.concatenate([ru[from_u], length[from_v]])
    return Reach(np.flatnonzero(full), edges, start, end)


def reference_pieces(geometry: np.ndarray, reach: Reach) -> np.ndarray:
    """LineStrings of the reached pieces (full edges and substrings)."""
    parts = [
        substring(geometry[e], a, b) for e, a, b in zip(reach.part_edges, reach.part_start, reach.part_end, strict=True)
    ]
    return np.concatenate([geometry[reach.full_edges], np.array(parts, dtype=object)])


def cell_polygon(cells: StreetCells, reach: Reach, *, extend_cut_ends: bool) -> shapely.Geometry:
    """Service area from the cell coverage."""
    samples = select_samples(cells, reach.part_edges, reach.part_start, reach.part_end, extend_cut_ends=extend_cut_ends)
    return union_cells(cells, full_edges=reach.full_edges, samples=samples)


def rss_mb() -> float:
    """Current resident set size (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    """Percentile ``q`` (0-100) of a list."""
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=50_000, help="approximate number of nodes")
    parser.add_argument("--facilities", type=int, default=200, help="number of simulated facilities")
    parser.add_argument("--limit", type=float, default=1200.0, help="walking distance (m)")
    parser.add_argument("--width", type=float, default=25.0, help="buffer width w (m)")
    parser.add_argument("--spacing", type=float, default=5.0, help="sample spacing (m)")
    parser.add_argument("--no-reference", action="store_true", help="skip the slow reference")
    args = parser.parse_args()

    t0 = time.perf_counter()
    city = make_city(args.nodes)
    t_city = time.perf_counter() - t0
    rss_before = rss_mb()
    print(
        f"city: {city.n_nodes} nodes, {city.geometry.shape[0]} edges, "
        f"{city.length.sum() / 1000:.0f} km, edge length p5/p50/p95 "
        f"{np.percentile(city.length, 5):.0f}/{np.percentile(city.length, 50):.0f}/"
        f"{np.percentile(city.length, 95):.0f} m ({t_city:.1f} s)"
    )

    t0 = time.perf_counter()
    cells = build_street_cells(city.geometry, width_m=args.width, spacing_m=args.spacing)
    t_build = time.perf_counter() - t0
    rss_after = rss_mb()
    peak = peak_rss_mb()
    arrays_mb = sum(a.nbytes for a in cells.to_arrays().values()) / 2**20
    print(
        f"build: {t_build:.1f} s, {cells.n_samples} samples, structure arrays {arrays_mb:.0f} MB; "
        f"RSS {rss_before:.0f} MB -> {rss_after:.0f} MB (incl. freed heap not yet returned), "
        f"peak {peak:.0f} MB"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cells.npz")
        t0 = time.perf_counter()
        np.savez(path, **cells.to_arrays())
        t_save = time.perf_counter() - t0
        t0 = time.perf_counter()
        with np.load(path, allow_pickle=False) as data:
            StreetCells.from_arrays(dict(data))
        t_load = time.perf_counter() - t0
        size_mb = os.path.getsize(path) / 2**20
    print(f"cache: npz {size_mb:.0f} MB, save {t_save:.1f} s, load {t_load:.1f} s")

    reaches = reached_sets(city, args.facilities, args.limit)
    n_full = [r.full_edges.shape[0] for r in reaches]
    n_part = [r.part_edges.shape[0] for r in reaches]
    print(
        f"facilities: {len(reaches)}, full edges median {statistics.median(n_full):.0f}, "
        f"partial intervals median {statistics.median(n_part):.0f}"
    )

    rows = []
    for extend in (False, True):
        times, polys = [], []
        for reach in reaches:
            t0 = time.perf_counter()
            poly = cell_polygon(cells, reach, extend_cut_ends=extend)
            times.append((time.perf_counter() - t0) * 1000)
            polys.append(poly)
        rows.append((f"cells (extend_cut_ends={extend})", times, polys))

    table = [("method", "median ms", "p90 ms", "area diff median", "area diff max", "invalid")]
    if not args.no_reference:
        ref_times, ref_areas = [], []
        for reach in reaches:
            pieces = reference_pieces(city.geometry, reach)
            t0 = time.perf_counter()
            ref = shapely.union_all(shapely.buffer(pieces, args.width))
            ref_times.append((time.perf_counter() - t0) * 1000)
            ref_areas.append(ref.area)
        ref_area = np.asarray(ref_areas)
        table.append(
            (
                "reference (buffer + union_all)",
                f"{statistics.median(ref_times):.2f}",
                f"{percentile(ref_times, 90):.2f}",
                "",
                "",
                "",
            )
        )
    for name, times, polys in rows:
        areas = shapely.area(np.asarray(polys, dtype=object))
        invalid = int((~shapely.is_valid(np.asarray(polys, dtype=object))).sum())
        if args.no_reference:
            diff_med = diff_max = ""
        else:
            rel = (areas - ref_area) / ref_area
            diff_med = f"{np.median(np.abs(rel)):.3%} (signed {np.median(rel):+.3%})"
            diff_max = f"{np.max(np.abs(rel)):.3%}"
        table.append(
            (name, f"{statistics.median(times):.2f}", f"{percentile(times, 90):.2f}", diff_med, diff_max, str(invalid))
        )

    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
    for k, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
