"""Service areas that follow the streets: reached networks and their polygons.

For many origins and several budgets (default 5, 10, 15 minutes) one batched
Dijkstra at the largest budget gives every reached node's time; from those times:

* the *reached street pieces* of each origin and budget are cut at the exact point
  where the budget runs out (partial edges from either end, and the origin's own
  edge in both directions from its snapped position);
* the *polygon* is the union of precomputed street cells (``geo.network.street_cells``) of
  the reached sample points: the reached streets buffered by ``STREET_BUFFER_M``
  on each side, with holes where nothing is reached, built with a coverage union
  instead of buffering at query time.  The cut of a partial street in the polygon
  lies within half of ``CELL_SPACING_M`` of the exact cut.

Three ways to combine many origins: ``"overlap"`` (one polygon per origin and
budget), ``"dissolve"`` (one per budget) and ``"catchment"`` (every reached place
belongs to its nearest origin; catchments do not overlap and their union is the
dissolved area).  ``rings=True`` returns bands 0-5, 5-10, 10-15 minutes instead of
nested areas.

Times are seconds inside, minutes at the API; lengths metres; areas m²; geometries
in the network's CRS (convert to WGS84 only when writing).
"""

from __future__ import annotations

import logging
import os
import shutil
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo import memory, settings
from geo.access.reached import (
    CROSS_FACTOR,
    EdgeTimes,
    cross_neighbours,
    edge_cross_neighbours,
    edge_times,
    lengths_by_group,
    pair_intervals,
    pair_time_bounds,
    polygons_by_label,
    sample_support,
    sample_times,
    substrings,
    with_cross_neighbours,
)
from geo.errors import InputDataError
from geo.network.cell_process import build_apart
from geo.network.cell_rings import sorted_unique
from geo.network.graph import CostGraph, WalkNetwork
from geo.network.reach import nearest_origins, reach_sets
from geo.network.snapping import Snapped
from geo.network.street_cells import StreetCells, build_street_cells
from geo.settings import TravelProfile, get_profile

logger = logging.getLogger(__name__)

__all__ = ["MODES", "area_edges", "check_budgets", "profile_note", "reached_streets", "service_areas", "street_cells"]

MODES = ("overlap", "dissolve", "catchment")
#: Cap length as a share of the buffer width: pi/4 gives a flat end of the same
#: area as the round cap of a buffered line end.
CAP_FACTOR = np.pi / 4.0
#: Threads building the polygons (each a numpy union, GIL mostly free) while the
#: next block of origins is prepared; 0 builds them in line, one after another.
UNION_THREADS = 2
#: Origins handled per vectorised block (bounds the memory of the sample tables).
ORIGIN_BLOCK = 64
#: Polygons per budget waiting for a union thread before the next block is prepared.
UNIONS_QUEUED = ORIGIN_BLOCK

Progress = Callable[[int, int], None]


# ------------------------------------------------------------------- cells cache


def street_cells(
    net: WalkNetwork,
    *,
    width_m: float = settings.STREET_BUFFER_M,
    spacing_m: float = settings.CELL_SPACING_M,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
    edges: np.ndarray | None = None,
) -> StreetCells:
    """The precomputed street cells of ``net`` (built once, cached in memory and on disk).

    The disk cache is a folder of ``.npy`` files read memory-mapped: a county's cells
    (about a gigabyte at 300,000 nodes) cost the server only the pages its queries
    touch, and the operating system may drop them again.  With the default
    ``cache_dir`` they are kept beside the network's own cache (``net.cache_dir``,
    e.g. ``LINLI_CACHE_DIR``) when it has one.

    A caller that knows which streets it will draw passes them as ``edges``: where the
    whole set would be larger than ``settings.CELL_CACHE_MAX_MB`` on disk and is not
    built yet, only the cells of those streets are built (identical to the whole
    set's; see ``StreetCells.area_edges``), for this call only: neither kept in memory
    nor written to disk.
    """
    key = ("cells", float(width_m), float(spacing_m))
    cells = net._graphs.get(key)
    if cells is not None:
        return cells
    if cache_dir == settings.DEFAULT_CACHE_DIR and net.cache_dir is not None:
        cache_dir = net.cache_dir
    path = None
    if cache_dir is not None and net.source_key:
        path = Path(cache_dir) / f"cells-{net.source_key}-{width_m:g}-{spacing_m:g}"
        cells = _read_cells(net, path)
    if cells is None and edges is not None and _whole_cells_mb(net, spacing_m) > settings.CELL_CACHE_MAX_MB:
        edges = sorted_unique(np.asarray(edges, dtype=np.int64).ravel())
        logger.info(
            "街道单元 (street cells): building for the %s of %s streets this job reaches",
            f"{edges.size:,}",
            f"{net.n_edges:,}",
        )
        # Not kept: the job's memory goes with the job (its writing, the next function's area).
        return _build_cells(net, width_m, spacing_m, edges)
    if cells is None:
        logger.info("街道单元 (street cells): building for %s streets, once per network", f"{net.n_edges:,}")
        cells = _build_cells(net, width_m, spacing_m, None)
        if path is not None:
            _write_cells(net, cells, path)
            # Read back memory-mapped: the process holds the pages its queries touch, not a gigabyte.
            cells = _read_cells(net, path) or cells
    net._graphs[key] = cells
    return cells


def _read_cells(net: WalkNetwork, path: Path) -> StreetCells | None:
    """The whole cells cached in ``path`` (memory-mapped) with their links across streets; None if absent or damaged."""
    if not (path / "format_version.npy").is_file():
        return None
    try:
        arrays = {f.stem: np.load(f, mmap_mode="r", allow_pickle=False) for f in path.glob("*.npy")}
        cells = StreetCells.from_arrays(arrays)
        links = tuple(np.asarray(arrays[name]) for name in CROSS_FILES)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("damaged cells cache %s discarded, rebuilding: %s", path.name, exc)
        return None
    # The links across streets are part of the cache: at 300,000 nodes they
    # take 25 s and most of a gigabyte to find.
    net._graphs[("cross", cells.width_m, cells.spacing_m)] = links[:2]
    net._graphs[("cross-edge", cells.width_m, cells.spacing_m)] = links[2:]
    return cells


def _build_cells(net: WalkNetwork, width_m: float, spacing_m: float, edges: np.ndarray | None) -> StreetCells:
    """Build the cells (of ``edges`` only, if given) in a child process, else here."""
    memory.release()  # what reading the network freed, before the build's peak
    workers = min(settings.CELL_BUILD_WORKERS, _usable_cores())
    geoms = net.edge_geometry
    apart = None
    # A network of a few thousand streets builds in a second: not worth a process.
    if net.n_edges >= CELL_PROCESS_MIN_EDGES:
        apart = build_apart(
            geoms, width_m=width_m, spacing_m=spacing_m, workers=workers, edges=edges, progress=_log_tenths()
        )
    if apart is not None:
        return apart
    return build_street_cells(
        geoms, width_m=width_m, spacing_m=spacing_m, workers=workers, edges=edges, progress=_log_tenths()
    )


#: Networks with at least this many streets build their cells in a child process
#: (:mod:`geo.network.cell_process`), whose peak memory is returned when it ends.
CELL_PROCESS_MIN_EDGES = 50_000

#: Bytes on disk per street-cell sample of a whole set (measured: 1,311 MB for the
#: 8.5 million samples of the 300,000-node benchmark county).
CELL_BYTES_PER_SAMPLE = 155.0


def _whole_cells_mb(net: WalkNetwork, spacing_m: float) -> float:
    """Estimated size on disk of the whole network's street cells (MB)."""
    samples = float(np.sum(net.edge_length_m)) / spacing_m + net.n_edges
    return samples * CELL_BYTES_PER_SAMPLE / 1e6


def area_edges(net: WalkNetwork, nodes: np.ndarray, origin_edges: np.ndarray, width_m: float) -> np.ndarray:
    """The streets whose cells service areas reaching ``nodes`` may draw.

    Every street at a reached node, the origins' own streets, and the streets within
    the reach across streets (``CROSS_FACTOR * width_m``) of those, whose cells a
    reached sample may draw (see :func:`geo.access.reached.cross_neighbours`).
    """
    reached = np.zeros(net.n_nodes, dtype=bool)
    reached[np.asarray(nodes, dtype=np.int64)] = True
    edges = np.flatnonzero(reached[net.edge_u] | reached[net.edge_v])
    edges = np.union1d(edges, np.asarray(origin_edges, dtype=np.int64))
    geoms = net.edge_geometry
    # A micrometre more than the reach across: sample points lie on their lines only up to rounding.
    _, across = shapely.STRtree(geoms).query(geoms[edges], predicate="dwithin", distance=CROSS_FACTOR * width_m + 1e-6)
    return np.union1d(edges, across)


def _usable_cores() -> int:
    """Cores this process may run on (its affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _log_tenths() -> Callable[[int, int], None]:
    """A (done, total) progress that logs every tenth of the way."""
    last = [-1]

    def report(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if tenth > last[0]:
            last[0] = tenth
            logger.info("街道单元 (street cells) %d%%", 10 * tenth)

    return report


#: Files of the cells cache holding the links across streets (see :func:`geo.access.reached.with_cross_neighbours`).
CROSS_FILES = ("cross_ptr", "cross_nbr", "cross_edge_ptr", "cross_edge_nbr")


def _write_cells(net: WalkNetwork, cells: StreetCells, path: Path) -> None:
    """Write the cells and their links across streets as a folder of ``.npy`` files, whole or not at all."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    links = (*cross_neighbours(net, cells), *edge_cross_neighbours(net, cells))
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, array in (*cells.to_arrays().items(), *zip(CROSS_FILES, links, strict=True)):
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
    except OSError as exc:
        logger.warning("could not write cells cache %s: %s", path, exc)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------- checking


def check_budgets(minutes: Sequence[float]) -> tuple[float, ...]:
    """Validate and sort budgets in minutes (docs/bad-inputs.md C1).

    Raises
    ------
    InputDataError
        Empty, non-finite, non-positive, or above ``MAX_BUDGET_MIN``.
    """
    try:
        values = [float(m) for m in minutes]
    except (TypeError, ValueError):
        raise InputDataError(f"步行时间阈值必须是数字 (budgets must be numbers): {minutes!r}") from None
    if not values:
        raise InputDataError("至少需要一个步行时间阈值 (give at least one budget in minutes)")
    for m in values:
        if not (np.isfinite(m) and 0 < m <= settings.MAX_BUDGET_MIN):
            raise InputDataError(
                f"步行时间阈值 {m} 分钟无效，应在 (0, {settings.MAX_BUDGET_MIN:g}] 分钟之间 "
                f"(budget must be in (0, {settings.MAX_BUDGET_MIN:g}] minutes)"
            )
    return tuple(sorted(set(values)))


# ------------------------------------------------------------------------ public


def _own_table(graph: CostGraph, snapped: Snapped, origins: np.ndarray, et: EdgeTimes, group: np.ndarray):
    """(pair index, pos_m, access_s, origin) of each origin's own edge, sorted by pair."""
    m = np.int64(graph.network.n_edges)
    keys = et.group * m + et.edge
    own_key = group.astype(np.int64) * m + snapped.edge[origins]
    pair = np.searchsorted(keys, own_key)
    order = np.argsort(pair, kind="stable")
    return (
        pair[order],
        snapped.pos_m[origins][order],
        (snapped.access_m[origins] * graph.access_s_per_m)[order],
        origins[order].astype(np.int64),
    )


def _budget_rows(budgets_s: Sequence[float]) -> list[tuple[float, float]]:
    """(lower, upper) time bounds in seconds of each nested band."""
    return [(-np.inf, b) for b in budgets_s]


def service_areas(
    graph: CostGraph,
    snapped: Snapped,
    *,
    minutes: Sequence[float] = settings.DEFAULT_BUDGETS_MIN,
    mode: str = "overlap",
    rings: bool = False,
    width_m: float = settings.STREET_BUFFER_M,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
    progress: Progress | None = None,
    whole_cells: bool = False,
) -> gpd.GeoDataFrame:
    """Street-following service-area polygons of snapped origins.

    Parameters
    ----------
    graph
        Routing graph of the travel profile.
    snapped
        Origins from :func:`geo.network.snapping.snap_points`; those not snapped get no polygon.
    minutes
        Budgets in minutes (default 5, 10, 15).
    mode
        ``"overlap"`` (per origin), ``"dissolve"`` (per budget) or ``"catchment"``
        (per origin, each place to its nearest origin).
    rings
        Bands between consecutive budgets (0-5, 5-10, 10-15) instead of nested areas.
    width_m
        Buffer of the reached streets on each side (metres).
    cache_dir
        Where the street cells are cached.
    progress
        Called with (done, total) origins.
    whole_cells
        Build (once) and cache the street cells of the whole network even where
        :func:`street_cells` would build only the reached streets' cells: for an
        interactive session, whose next request may go anywhere.

    Returns
    -------
    geopandas.GeoDataFrame
        In the network's CRS, one row per (origin, band) — or per band for
        ``"dissolve"`` — with ``origin`` (index into the snapped points, -1 for
        dissolve), ``min_from``, ``minutes`` (band bounds), ``budget_m`` (distance
        at the profile's street speed), ``profile``, ``speed_kmh``, ``area_m2``,
        ``street_length_m`` (reached street within the band) and ``geometry``.

    Raises
    ------
    InputDataError
        Bad budgets or mode.
    """
    if mode not in MODES:
        raise InputDataError(f"合并方式 mode={mode!r} 无效，可选: {', '.join(MODES)} (unknown mode)")
    budgets_min = check_budgets(minutes)
    budgets_s = [b * 60.0 for b in budgets_min]
    # Nested areas first; a ring is the cells of a nested area that are not in the
    # previous one, so the rings partition the outer area's cells exactly and none
    # depends on the budgets beyond it.
    bands = _budget_rows(budgets_s)
    profile = graph.profile
    origins = np.flatnonzero(snapped.ok)
    # A street is drawn to its budget plus its equal-area cap (see _block_records),
    # so the search runs that far past the last budget; stopping at the budget would
    # lose the far ends reached within the cap, and a polygon would depend on which
    # larger budgets were asked for in the same call.
    reach_s = budgets_s[-1] + _cap_margin_s(graph, width_m)
    if mode == "overlap":
        reach = reach_sets(graph, snapped, max_time_s=reach_s)
        reached_nodes = reach.node
    else:
        near = nearest_origins(graph, snapped, max_time_s=reach_s)
        reached_nodes = np.flatnonzero(np.isfinite(near.time_s))
    net = graph.network
    cells = street_cells(
        net,
        width_m=width_m,
        cache_dir=cache_dir,
        edges=None if whole_cells else area_edges(net, reached_nodes, snapped.edge[origins], width_m),
    )
    records: list[dict] = []
    # The unions are numpy work on ~10^4 segments each that releases the GIL for
    # most of its time: they run on a small pool while the next block of origins is
    # prepared, which keeps both cores of a planner's desktop busy.
    # A single origin (a candidate dragged in the web app) is not worth starting threads for.
    threaded = UNION_THREADS > 0 and origins.size > 1
    settled = 0  # records whose polygon is made (every record, without a pool)
    with ThreadPoolExecutor(UNION_THREADS) if threaded else nullcontext() as pool:
        if mode == "overlap":
            order = np.argsort(reach.origin, kind="stable")
            r_origin, r_node, r_time = reach.origin[order], reach.node[order], reach.time_s[order]
            bounds = np.searchsorted(r_origin, origins)
            bounds_end = np.searchsorted(r_origin, origins, side="right")
            for start in range(0, origins.size, ORIGIN_BLOCK):
                block = origins[start : start + ORIGIN_BLOCK]
                sl = slice(bounds[start], bounds_end[start + block.size - 1]) if block.size else slice(0, 0)
                records += _block_records(
                    graph,
                    cells,
                    snapped,
                    block,
                    block,
                    r_origin[sl],
                    r_node[sl],
                    r_time[sl],
                    r_origin[sl],
                    bands,
                    pool=pool,
                    rings=rings,
                )
                # The unions run behind the blocks: wait for the oldest so that at most a
                # block's worth is queued (each holds its block's tables until it runs).
                if pool is None:
                    settled = len(records)
                while len(records) - settled > UNIONS_QUEUED * len(bands):
                    settled = _settle(records, settled)
                if progress is not None:
                    progress(min(start + block.size, settled // len(bands)), origins.size)
        else:
            nodes = reached_nodes
            group_of_origin = np.zeros(origins.size, dtype=np.int64)
            records += _block_records(
                graph,
                cells,
                snapped,
                origins,
                group_of_origin,
                np.zeros(nodes.size, dtype=np.int64),
                nodes,
                near.time_s[nodes],
                near.origin[nodes],
                bands,
                by_owner=origins if mode == "catchment" else None,
                pool=pool,
                rings=rings,
            )
            if progress is not None:
                progress(origins.size, origins.size)
        while pool is not None and settled < len(records):
            settled = _settle(records, settled)
        if progress is not None and mode == "overlap":
            progress(origins.size, origins.size)
    frame = (
        gpd.GeoDataFrame(records, geometry="geometry", crs=graph.network.crs)
        if records
        else gpd.GeoDataFrame(
            {"origin": [], "min_from": [], "minutes": [], "street_length_m": []},
            geometry=[],
            crs=graph.network.crs,
        )
    )
    if rings and len(frame):
        frame = _rings_of(frame)
    if mode == "overlap" and len(frame):
        frame["geometry"] = _with_access_legs(graph, snapped, frame, width_m)
    frame["area_m2"] = shapely.area(frame.geometry.to_numpy())
    frame["budget_m"] = [profile.metres_in(m) for m in frame["minutes"]]
    frame["profile"] = profile.name
    frame["speed_kmh"] = profile.speed_kmh
    frame["width_m"] = width_m
    return frame


def _settle(records: list[dict], settled: int) -> int:
    """Wait for the polygon of record ``settled`` (a future) and put it in its place."""
    records[settled]["geometry"] = records[settled]["geometry"].result()
    return settled + 1


def _rings_of(nested: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Bands between consecutive budgets from the nested bands of each origin, whose
    polygons are already rings (drawn from their own cells by :func:`_block_records`)."""
    frame = nested.sort_values(["origin", "minutes"], kind="stable").reset_index(drop=True)
    same = frame["origin"].to_numpy()[1:] == frame["origin"].to_numpy()[:-1]
    inner = np.flatnonzero(np.r_[False, same])
    length = frame["street_length_m"].to_numpy().copy()
    length[inner] -= frame["street_length_m"].to_numpy()[inner - 1]
    min_from = frame["min_from"].to_numpy().copy()
    min_from[inner] = frame["minutes"].to_numpy()[inner - 1]
    frame["min_from"] = min_from
    frame["street_length_m"] = length
    return frame


def _cap_margin_s(graph: CostGraph, width_m: float) -> float:
    """The longest equal-area cap in seconds: how far past a budget a street is drawn."""
    s_per_m = np.fmin(graph.fwd_s_per_m, graph.bwd_s_per_m)
    s_per_m = s_per_m[np.isfinite(s_per_m)]
    return float(CAP_FACTOR * width_m * s_per_m.max()) if s_per_m.size else 0.0


def _with_access_legs(graph: CostGraph, snapped: Snapped, frame: gpd.GeoDataFrame, width_m: float) -> np.ndarray:
    """Add the buffered leg from each origin to its street where the origin lies outside.

    A facility set back from the street (a clinic inside a compound) is joined to
    its service area by its access path; only the first band holds the origin.
    """
    geoms = frame.geometry.to_numpy().copy()
    origin = frame["origin"].to_numpy()
    first_band = frame["min_from"].to_numpy() == 0
    x, y = snapped.xy[origin, 0], snapped.xy[origin, 1]
    outside = first_band & ~shapely.contains_xy(geoms, x, y)
    if outside.any():
        o = origin[outside]
        on_street = shapely.line_interpolate_point(graph.network.edge_geometry[snapped.edge[o]], snapped.pos_m[o])
        legs = shapely.linestrings(
            np.stack([snapped.xy[o], shapely.get_coordinates(on_street)], axis=1).reshape(-1, 2),
            indices=np.repeat(np.arange(o.size), 2),
        )
        geoms[outside] = shapely.union(geoms[outside], shapely.buffer(legs, width_m))
    return geoms


def _block_records(
    graph: CostGraph,
    cells: StreetCells,
    snapped: Snapped,
    origins: np.ndarray,
    group_of_origin: np.ndarray,
    group: np.ndarray,
    node: np.ndarray,
    time_s: np.ndarray,
    owner: np.ndarray,
    bands: list[tuple[float, float]],
    *,
    by_owner: np.ndarray | None = None,
    pool: ThreadPoolExecutor | None = None,
    rings: bool = False,
) -> list[dict]:
    """Polygons and street lengths of one block of groups for every band.

    The bands are nested; with ``rings`` each polygon leaves out the previous band's cells
    (street lengths stay those of the nested bands).  With a ``pool``, ``geometry`` holds a
    future of the polygon.
    """
    et = edge_times(graph, group, node, time_s, owner, (group_of_origin, snapped.edge[origins]))
    own = _own_table(graph, snapped, origins, et, group_of_origin)
    groups = np.unique(group_of_origin) if by_owner is None else np.arange(by_owner.size)
    fmin_s_per_m = np.fmin(graph.fwd_s_per_m, graph.bwd_s_per_m)
    # Equal-area caps: a cut street ends in a half disc of radius w in the buffered
    # reference; the cells end flat, so each cut is carried on by pi*w/4 metres,
    # the length of flat strip (2w wide) with the half disc's area.
    cap_pair = CAP_FACTOR * cells.width_m * fmin_s_per_m[et.edge]
    # A pair whose samples all fall inside or all outside every band is decided as a
    # whole edge; only the others (cut streets, and origins' own edges) get per-sample
    # times.  In overlap mode every pair belongs to one group; in catchment mode the
    # owner may change along a street, so every pair is expanded.
    t_first, t_last = pair_time_bounds(graph, et)
    t_first, t_last = t_first - cap_pair, t_last - cap_pair
    whole = np.zeros((len(bands), et.edge.size), dtype=bool)
    decided = np.ones(et.edge.size, dtype=bool)
    for k, (lo, hi) in enumerate(bands):
        whole[k] = (t_first > lo) & (t_last <= hi)
        decided &= whole[k] | (t_first > hi) | (t_last <= lo)
    decided[own[0]] = False
    if by_owner is not None:
        decided[:] = False
    expand = np.flatnonzero(~decided)
    pair, sample, t_sample, o_sample = sample_times(graph, cells, et, own, expand)
    cap_s = CAP_FACTOR * cells.width_m * fmin_s_per_m[cells.sample_edge[sample]]
    # In catchment mode every pair is expanded, and its samples reach across with
    # their own times and owners; a whole street as a source would lend its latest
    # time and one end's owner to every neighbour.
    whole_pairs = np.flatnonzero(whole.any(axis=0)) if by_owner is None else np.zeros(0, dtype=np.int64)
    rows = with_cross_neighbours(
        graph.network,
        cells,
        et,
        whole_pairs,
        t_last[whole_pairs],
        et.group[pair],
        sample,
        t_sample - cap_s,
        t_sample,
        o_sample,
        bands[-1][1],
        # Drawn whole in the first band is drawn whole in every band a target on it
        # could fall in (its times, and the earlier times across, are all in band 0);
        # catchments draw nothing whole.
        whole_pairs[whole[0, whole_pairs]],
    )
    row_group, row_sample, row_t, row_owner, row_own_t = rows
    row_edge = cells.sample_edge[row_sample]
    support = None if by_owner is None else sample_support(cells)
    records = []
    inner = None  # the previous band's cells, per label
    # Street length within each budget, once per budget: a ring's lower bound is the
    # previous ring's upper bound.
    group_lengths = {}
    if by_owner is None:
        for budget in {b for band in bands for b in band}:
            group_lengths[budget] = lengths_by_group(graph, et, own, budget, groups)
    for k, (lo, hi) in enumerate(bands):
        sel = (row_t > lo) & (row_t <= hi)
        full = np.flatnonzero(whole[k])
        if by_owner is None:
            label = np.searchsorted(groups, row_group[sel])
            full_label = np.searchsorted(groups, et.group[full])
            n_labels = groups.size
            label_origin = origins if groups.size == origins.size else np.array([-1])
            length = group_lengths[hi] - group_lengths[lo]
        else:
            assert support is not None  # computed whenever by_owner is given
            label = np.searchsorted(by_owner, row_owner[sel])
            full_label = np.zeros(0, dtype=np.int64)
            full = full[:0]
            n_labels = by_owner.size
            label_origin = by_owner
            # Street length: only samples on reached streets, not those drawn across.
            own_in_band = (row_own_t[sel] > lo) & (row_own_t[sel] <= hi)
            weight = np.where(own_in_band, support[row_sample[sel]], 0.0)
            length = np.bincount(label, weights=weight, minlength=n_labels)
        polys, inner = polygons_by_label(
            cells,
            label,
            row_edge[sel],
            row_sample[sel],
            n_labels,
            full_label,
            et.edge[full],
            pool,
            beyond=inner if rings and k else None,
        )
        lo_min = 0.0 if not np.isfinite(lo) else lo / 60.0
        for i, poly in enumerate(polys):
            records.append(
                {
                    "origin": int(label_origin[i]),
                    "min_from": lo_min,
                    "minutes": hi / 60.0,
                    "street_length_m": float(length[i]),
                    "geometry": poly,
                }
            )
    return records


def reached_streets(
    graph: CostGraph,
    snapped: Snapped,
    *,
    minutes: float = settings.DEFAULT_BUDGETS_MIN[-1],
) -> gpd.GeoDataFrame:
    """The street pieces each origin reaches within ``minutes``, cut exactly.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per reached piece with ``origin``, ``edge``, ``start_m``, ``end_m``
        (positions along the edge from its u end), ``length_m``, ``minutes`` and the
        LineString ``geometry`` in the network's CRS.
    """
    (budget_min,) = check_budgets([minutes])
    budget_s = budget_min * 60.0
    origins = np.flatnonzero(snapped.ok)
    reach = reach_sets(graph, snapped, max_time_s=budget_s)
    et = edge_times(
        graph,
        reach.origin.astype(np.int64),
        reach.node,
        reach.time_s,
        reach.origin.astype(np.int64),
        (origins, snapped.edge[origins]),
    )
    own = _own_table(graph, snapped, origins, et, origins)
    s, e = pair_intervals(graph, et, own, budget_s)
    row, col = np.nonzero(e > s)
    start, end = s[row, col], e[row, col]
    edge = et.edge[row]
    geoms = substrings(graph.network.edge_geometry[edge], start, end)
    return gpd.GeoDataFrame(
        {
            "origin": et.group[row],
            "edge": edge,
            "start_m": start,
            "end_m": end,
            "length_m": end - start,
            "minutes": budget_min,
        },
        geometry=geoms,
        crs=graph.network.crs,
    )


def profile_note(profile: str | TravelProfile) -> str:
    """The assumption behind a result, for display: speed and its source."""
    prof = get_profile(profile)
    return f"{prof.label_zh} {prof.speed_kmh:g} km/h ({prof.source})"
