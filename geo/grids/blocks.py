"""Atomic units of management grids: street blocks, their households, their neighbours.

A *street block* is a polygon that the street lines (and the boundary of the area,
and water where given) cut the area into: the network lines are noded with one
:func:`shapely.union_all` and polygonized, so two blocks across a street share the
street's centre line exactly and a grid made of whole blocks follows streets.
A planner may supply their own units (compounds, buildings) instead; both are a
GeoDataFrame with ``unit_id``, ``households``, ``residents``, ``geometry`` in a
metric CRS.

Everything is vectorised shapely / numpy; there is no Python loop over blocks.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

from geo import settings
from geo.errors import CRSError, InputDataError

logger = logging.getLogger(__name__)

__all__ = [
    "clip_lines",
    "is_coverage",
    "street_blocks",
    "union_units",
    "unit_adjacency",
    "units_from_polygons",
    "units_with_households",
]


def _check_metric(frame: gpd.GeoDataFrame, what: str) -> None:
    if frame.crs is None or not frame.crs.is_projected:
        raise CRSError(
            f"{what} 需要米制投影坐标系，收到 {frame.crs} ({what} must be in a projected CRS in metres; "
            f"reproject first, e.g. to the UTM zone)"
        )


def street_blocks(
    lines: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    area: shapely.Geometry | None = None,
    water: shapely.Geometry | None = None,
    cuts: np.ndarray | None = None,
    min_area_m2: float = settings.GRID_MIN_BLOCK_AREA_M2,
) -> gpd.GeoDataFrame:
    """Street blocks: the polygons the street lines, the area boundary and water cut ``area`` into.

    Parameters
    ----------
    lines
        Street centre lines (the walkable and drivable network), LineStrings in a
        projected CRS (metres).
    area
        Polygon of the area (parent boundary, study area) in the same CRS; default the
        convex hull of the lines.
    water
        Optional water polygons (same CRS), cut out of the blocks.
    cuts
        Optional polygons (same CRS) whose boundaries also cut blocks: the parent
        communities, so that no block straddles two of them.
    min_area_m2
        Faces smaller than this (slivers between dual carriageways) join the
        neighbouring block they share most boundary with.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id`` (``"B00001"`` ..., numbered north-west to south-east), ``area_m2``,
        polygons in the lines' CRS.

    Raises
    ------
    CRSError
        If the lines are not in a projected CRS.
    InputDataError
        If no lines are given or they enclose no block.
    """
    frame = lines if isinstance(lines, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=lines)
    _check_metric(frame, "道路线 street lines")
    geoms = frame.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if geoms.size == 0:
        raise InputDataError("没有道路线，无法划分街区 (no street lines to cut blocks from)")
    if area is None:
        area = shapely.convex_hull(shapely.multilinestrings(shapely.get_parts(geoms)))
    elif not shapely.is_valid(area):
        area = shapely.make_valid(area)
    inside = clip_lines(geoms, area)
    pieces = [inside, np.asarray([shapely.boundary(area)], dtype=object)]
    if cuts is not None and len(cuts):
        pieces.append(shapely.intersection(shapely.boundary(np.asarray(cuts, dtype=object)), area))
    noded = shapely.union_all(np.concatenate(pieces))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if faces.size:
        keep = shapely.contains(area, shapely.point_on_surface(faces))
        faces = faces[keep]
    if water is not None and faces.size:
        faces = shapely.difference(faces, water)
    faces = faces[~shapely.is_empty(faces)] if faces.size else faces
    if faces.size:
        faces = _absorb_slivers(faces, min_area_m2, cuts)
    area_m2 = shapely.area(faces) if faces.size else np.zeros(0)
    if faces.size == 0:
        raise InputDataError(
            "道路线没有围合出任何街区；请检查路网或给出边界 (the street lines enclose no block; check the network "
            "or give a boundary)"
        )
    centre = shapely.centroid(faces)
    order = reading_order(shapely.get_x(centre), shapely.get_y(centre), band_m=settings.GRID_BLOCK_ORDER_BAND_M)
    faces, area_m2 = faces[order], area_m2[order]
    ids = np.array([f"B{k + 1:05d}" for k in range(faces.size)], dtype=object)
    logger.info("street blocks: %d from %d lines", faces.size, geoms.size)
    return gpd.GeoDataFrame({"unit_id": ids, "area_m2": area_m2}, geometry=faces, crs=frame.crs)


def clip_lines(lines: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """The parts of ``lines`` inside ``area``: :func:`shapely.intersection`, without an overlay for lines inside.

    A line inside the area's interior is its own intersection, vertex for vertex, so only
    the few lines that reach the boundary or lie outside are intersected.
    """
    lines = np.asarray(lines, dtype=object)
    shapely.prepare(area)
    out = lines.copy()
    cross = np.flatnonzero(~shapely.contains_properly(area, lines))
    if cross.size:
        out[cross] = shapely.intersection(lines[cross], area)
    return out


def _absorb_slivers(faces: np.ndarray, min_area_m2: float, cuts) -> np.ndarray:
    """Faces below ``min_area_m2`` join the neighbour (in the same cut polygon) they share most boundary with.

    Slivers between dual carriageways or close parallel paths are not blocks; joining
    them to a block keeps the blocks a gap-free coverage.  A sliver touching no block
    in its cut polygon is dropped.
    """
    area = shapely.area(faces)
    small = area < min_area_m2
    if not small.any():
        return faces
    big_idx, small_idx = np.flatnonzero(~small), np.flatnonzero(small)
    if big_idx.size == 0:
        return faces[:0]
    tree = shapely.STRtree(faces[big_idx])
    si, bi = tree.query(faces[small_idx], predicate="intersects")
    if si.size:
        shared = shapely.length(shapely.intersection(shapely.boundary(faces[small_idx[si]]), faces[big_idx[bi]]))
        if cuts is not None and len(cuts):
            cuts = np.asarray(cuts, dtype=object)
            inside = point_units(cuts, shapely.point_on_surface(faces), snap_m=0.0)
            shared = np.where(inside[small_idx[si]] == inside[big_idx[bi]], shared, 0.0)
        order = np.lexsort((-shared, si))
        si, bi, shared = si[order], bi[order], shared[order]
        first = np.ones(si.size, dtype=bool)
        first[1:] = si[1:] != si[:-1]
        keep = first & (shared > 0)
        si, bi = si[keep], bi[keep]
    out = faces[big_idx].copy()
    if si.size:
        targets = np.unique(bi)
        order = np.argsort(bi, kind="stable")
        bounds = np.append(np.searchsorted(bi[order], targets), si.size)
        for k, target in enumerate(targets):
            members = faces[small_idx[si[order[bounds[k] : bounds[k + 1]]]]]
            out[target] = shapely.union_all(np.append(members, out[target]))
    return out


def reading_order(x: np.ndarray, y: np.ndarray, *, band_m: float) -> np.ndarray:
    """Indices sorting points north-west to south-east: rows of ``band_m`` from the top, then west to east."""
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    band = np.floor((np.max(y) - y) / band_m).astype(np.int64)
    return np.lexsort((np.round(y, 3) * -1, np.round(x, 3), band))


def units_from_polygons(
    polygons: gpd.GeoDataFrame, *, id_column: str = "code", name_column: str | None = "name"
) -> gpd.GeoDataFrame:
    """Planner-supplied units (compounds, buildings) as grid units.

    Parameters
    ----------
    polygons
        Polygons in a projected CRS with an id column (for example from
        :func:`geo.access.units.read_units`, reprojected to the network's CRS).  ``households``
        and ``residents`` columns, if present, are kept.
    id_column, name_column
        Columns holding the unit id and an optional name.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id``, ``name``, ``area_m2`` (and ``households``/``residents`` if given).

    Raises
    ------
    CRSError
        If the CRS is not projected.
    InputDataError
        If the id column is missing, ids are empty or duplicated, or a geometry is
        not a polygon.
    """
    _check_metric(polygons, "单元 units")
    if id_column not in polygons.columns:
        raise InputDataError(f"单元图层缺少编号列 {id_column!r} (units need an id column {id_column!r})")
    ids = polygons[id_column].astype(str).str.strip()
    if (ids == "").any() or polygons[id_column].isna().any():
        raise InputDataError("有单元缺少编号 (a unit has no id)")
    if ids.duplicated().any():
        raise InputDataError(f"单元编号 {ids[ids.duplicated()].iloc[0]} 重复 (duplicate unit id)")
    geoms = polygons.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    if not np.isin(kinds, (3, 6)).all():
        bad = ids.iloc[int(np.flatnonzero(~np.isin(kinds, (3, 6)))[0])]
        raise InputDataError(f"单元 {bad} 不是面 (unit {bad} is not a polygon)")
    if not shapely.is_valid(geoms).all():
        geoms = shapely.make_valid(geoms)
    out = gpd.GeoDataFrame(
        {"unit_id": ids.to_numpy(object), "area_m2": shapely.area(geoms)}, geometry=geoms, crs=polygons.crs
    )
    if name_column and name_column in polygons.columns:
        out["name"] = polygons[name_column].fillna("").astype(str).to_numpy(object)
    for column in ("households", "residents"):
        if column in polygons.columns:
            values = polygons[column].to_numpy(float)
            if not np.isfinite(values).all() or (values < 0).any():
                raise InputDataError(f"单元 {column} 列有负数或空值 ({column} must be non-negative numbers)")
            out[column] = values
    return out


def units_with_households(
    units: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    snap_m: float = settings.GRID_DEMAND_SNAP_M,
    persons_per_household: float = settings.PERSONS_PER_HOUSEHOLD,
) -> gpd.GeoDataFrame:
    """Residents and households of each unit, summed from the demand points inside it.

    A demand point on a street line or just outside every unit goes to the nearest unit
    within ``snap_m`` metres; farther points are counted in ``attrs["unassigned"]``.

    Parameters
    ----------
    units
        Units (``unit_id``, polygons) in a projected CRS.
    demand
        Demand points with ``residents`` (and ``households``; else residents /
        ``persons_per_household``), any CRS.
    snap_m
        Largest distance (metres) from a point to the unit it is given to.
    persons_per_household
        Household size used when the demand has no ``households`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        ``units`` with ``households``, ``residents`` and ``points`` columns; ``attrs``
        ``unassigned`` (dict of points, residents, households not in any unit).

    Raises
    ------
    InputDataError
        If the demand has no ``residents`` column.
    """
    _check_metric(units, "单元 units")
    if "residents" not in demand.columns:
        raise InputDataError("需求点缺少 residents（人口）列 (demand points need a residents column)")
    points = demand.to_crs(units.crs).geometry.to_numpy()
    if points.size and (shapely.get_type_id(points) != 0).any():
        points = shapely.point_on_surface(points)
    residents = demand["residents"].to_numpy(float)
    if "households" in demand.columns:
        households = demand["households"].to_numpy(float)
    else:
        households = residents / persons_per_household
    unit_of = point_units(units.geometry.to_numpy(), points, snap_m=snap_m)
    ok = unit_of >= 0
    n = len(units)
    out = units.copy()
    out["households"] = np.bincount(unit_of[ok], weights=households[ok], minlength=n)
    out["residents"] = np.bincount(unit_of[ok], weights=residents[ok], minlength=n)
    out["points"] = np.bincount(unit_of[ok], minlength=n)
    out.attrs["unassigned"] = {
        "points": int((~ok).sum()),
        "residents": float(residents[~ok].sum()),
        "households": float(households[~ok].sum()),
    }
    return out


def point_units(geoms: np.ndarray, points: np.ndarray, *, snap_m: float) -> np.ndarray:
    """Index of the unit each point lies in (the first by index), else the nearest within ``snap_m``, else -1."""
    unit_of = np.full(points.size, -1, dtype=np.int64)
    if points.size == 0 or geoms.size == 0:
        return unit_of
    tree = shapely.STRtree(geoms)
    pi, ui = tree.query(points, predicate="intersects")
    order = np.lexsort((ui, pi))
    pi, ui = pi[order], ui[order]
    first = np.ones(pi.size, dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    unit_of[pi[first]] = ui[first]
    missing = np.flatnonzero(unit_of < 0)
    if missing.size and snap_m > 0:
        mi, mu = tree.query_nearest(points[missing], max_distance=snap_m, all_matches=False)
        unit_of[missing[mi]] = mu
    return unit_of


def is_coverage(geoms: np.ndarray) -> bool:
    """Whether polygons form a valid coverage: valid, no two overlap, shared edges matched vertex for vertex.

    Street blocks do (they are the faces of one noded arrangement); a planner's polygons
    may not.  Units that form a coverage cannot overlap, and any group of them is
    unioned exactly by :func:`union_units` with the much faster coverage union.

    Parameters
    ----------
    geoms
        Polygons (any CRS).

    Returns
    -------
    bool
        False as well when a geometry is not a valid polygon or multipolygon, or there is none.
    """
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0 or not np.isin(shapely.get_type_id(geoms), (3, 6)).all():
        return False
    if not shapely.is_valid(geoms).all():
        return False
    return bool(shapely.coverage_is_valid(geoms))


def union_units(geoms: np.ndarray, *, coverage: bool) -> shapely.Geometry:
    """The union of unit polygons; ``coverage`` (see :func:`is_coverage`) allows the coverage union."""
    return shapely.coverage_union_all(geoms) if coverage else shapely.union_all(geoms)


def unit_adjacency(
    geoms: np.ndarray,
    *,
    tolerance_m: float = settings.GRID_ADJACENCY_TOLERANCE_M,
    min_shared_m: float = settings.GRID_MIN_SHARED_EDGE_M,
    coverage: bool | None = None,
) -> np.ndarray:
    """Pairs of units sharing a boundary of at least ``min_shared_m`` metres.

    Units within ``tolerance_m`` of each other count as touching (planner polygons
    rarely share vertices exactly); touching at a corner does not make neighbours.

    Parameters
    ----------
    geoms
        Unit polygons in a projected CRS (metres).
    tolerance_m
        Gap (metres) up to which two boundaries count as shared.
    min_shared_m
        Shortest shared boundary (metres) that makes two units neighbours.
    coverage
        Whether the units form a valid coverage (:func:`is_coverage`); tested when
        omitted.  In a coverage most pairs meeting at a corner are settled by
        arithmetic on their boundary segments instead of a buffer.

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` int64 array of unit positions ``i < j``, sorted.
    """
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = i < j
    i, j = i[keep], j[keep]
    if i.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    # Street blocks share their edges vertex for vertex: those pairs are decided by the
    # boundary segments they have in common, without any geometry operation.  Only the
    # others (planner polygons, blocks meeting at a corner) go through the buffer below.
    segments = _boundary_segments(geoms)
    exact = _exactly_shared_m(geoms, i, j, segments=segments)
    decided = exact >= min_shared_m
    rest = np.flatnonzero(~decided)
    keep = decided.copy()
    if rest.size and (is_coverage(geoms) if coverage is None else coverage):
        # A boundary shorter than the threshold near the other unit cannot pass the test below.
        reach_m = tolerance_m * (1 + BUFFER_SLACK)
        near = _near_length_bound_m(geoms, i[rest], j[rest], reach_m=reach_m, segments=segments)
        rest = rest[near >= min_shared_m + 2 * tolerance_m]
    if rest.size:
        grown = shapely.buffer(geoms[np.unique(j[rest])], tolerance_m, quad_segs=1)
        at = np.searchsorted(np.unique(j[rest]), j[rest])
        shared = shapely.length(shapely.intersection(shapely.boundary(geoms[i[rest]]), grown[at]))
        keep[rest] = shared >= min_shared_m + 2 * tolerance_m  # a corner inside the buffer adds up to 2 x tolerance
    pairs = np.column_stack([i[keep], j[keep]]).astype(np.int64)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


#: Relative margin on the buffer distance: GEOS simplifies a buffer's input by 1 % of the
#: distance, so a buffer reaches at most that much farther than the distance.
BUFFER_SLACK = 0.1
#: Segment pairs handled at once by :func:`_near_length_bound_m` (memory: ~20 float arrays of this size).
SEGMENT_PAIRS_CHUNK = 2_000_000


def _boundary_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments of the units' boundaries: ``(k, 4)`` x0, y0, x1, y1, the owning unit, the first segment of each unit."""
    parts, owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    parts, more = shapely.get_parts(parts, return_index=True)  # multilinestrings of multipolygons
    owner = owner[more]
    coords, line = shapely.get_coordinates(parts, return_index=True)
    same = line[1:] == line[:-1]
    seg = np.column_stack([coords[:-1][same], coords[1:][same]])
    unit = owner[line[:-1][same]]
    first = np.searchsorted(unit, np.arange(len(geoms) + 1))
    return seg, unit, first


def _slab(
    f0: np.ndarray, f1: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Parameters ``u`` with ``lo <= f0 + u * f1 <= hi``, as an interval (empty: start > end)."""
    flat = f1 == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        u1, u2 = (lo - f0) / f1, (hi - f0) / f1
    inside = (f0 >= lo) & (f0 <= hi)
    start = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(u1, u2))
    end = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(u1, u2))
    return start, end


def segment_reach(s: np.ndarray, t: np.ndarray, reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The part of each segment ``s`` within ``reach_m`` of segment ``t``, as parameters along ``s``.

    Parameters
    ----------
    s, t
        ``(k, 4)`` segments x0, y0, x1, y1 (metres, one projected CRS).
    reach_m
        Distance (metres).

    Returns
    -------
    tuple of numpy.ndarray
        ``start, end`` in ``[0, 1]`` along each ``s`` (``start > end`` where no point of ``s``
        is that close).  The set is an interval: the points within ``reach_m`` of a
        segment form a convex stadium, its two end discs and the band between them.
    """
    p0, d = s[:, :2], s[:, 2:] - s[:, :2]
    a = np.einsum("ij,ij->i", d, d)
    a_safe = np.where(a > 0, a, 1.0)
    start, end = np.full(len(s), np.inf), np.full(len(s), -np.inf)
    for centre in (t[:, :2], t[:, 2:]):  # the end discs: |p0 + u d - c|^2 <= r^2
        w = p0 - centre
        b = 2 * np.einsum("ij,ij->i", d, w)
        disc = b * b - 4 * a * (np.einsum("ij,ij->i", w, w) - reach_m**2)
        root = np.sqrt(np.maximum(disc, 0.0))
        hit = (disc >= 0) & (a > 0)
        start = np.where(hit, np.minimum(start, (-b - root) / (2 * a_safe)), start)
        end = np.where(hit, np.maximum(end, (-b + root) / (2 * a_safe)), end)
    e = t[:, 2:] - t[:, :2]
    length = np.hypot(e[:, 0], e[:, 1])
    unit = e / np.where(length > 0, length, 1.0)[:, None]
    normal = np.column_stack([-unit[:, 1], unit[:, 0]])
    w = p0 - t[:, :2]
    along = _slab(np.einsum("ij,ij->i", w, unit), np.einsum("ij,ij->i", d, unit), 0.0, length)
    across = _slab(np.einsum("ij,ij->i", w, normal), np.einsum("ij,ij->i", d, normal), -reach_m, reach_m)
    band_start, band_end = np.maximum(along[0], across[0]), np.minimum(along[1], across[1])
    band = (length > 0) & (a > 0) & (band_start <= band_end)
    start = np.where(band, np.minimum(start, band_start), start)
    end = np.where(band, np.maximum(end, band_end), end)
    return np.maximum(start, 0.0), np.minimum(end, 1.0)


def _near_length_bound_m(
    geoms: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    *,
    reach_m: float,
    segments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """At least the length of unit ``i``'s boundary within ``reach_m`` of unit ``j``'s boundary (metres, per pair).

    Per segment of ``i``, the span from the first to the last point within reach of any
    segment of ``j``; only segments whose boxes come within reach of the other unit's box
    are paired.  In a coverage no boundary enters another unit, so this bounds the
    boundary of ``i`` inside the buffer of ``j`` by ``reach_m``.
    """
    seg, _, first = _boundary_segments(geoms) if segments is None else segments
    box = shapely.bounds(geoms)
    seg_box = np.column_stack([np.minimum(seg[:, 0], seg[:, 2]), np.minimum(seg[:, 1], seg[:, 3])])
    seg_box = np.column_stack([seg_box, np.maximum(seg[:, 0], seg[:, 2]), np.maximum(seg[:, 1], seg[:, 3])])

    def near_segments(of: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pair, segment) of the segments of unit ``of`` whose box is within reach of unit ``other``'s box."""
        count = first[of + 1] - first[of]
        pair = np.repeat(np.arange(of.size), count)
        k = first[of][pair] + np.arange(pair.size) - np.repeat(np.cumsum(count) - count, count)
        b, sb = box[other[pair]], seg_box[k]
        ok = (sb[:, 0] <= b[:, 2] + reach_m) & (sb[:, 2] >= b[:, 0] - reach_m)
        ok &= (sb[:, 1] <= b[:, 3] + reach_m) & (sb[:, 3] >= b[:, 1] - reach_m)
        return pair[ok], k[ok]

    pair_s, s_idx = near_segments(i, j)
    pair_t, t_idx = near_segments(j, i)
    n_t = np.bincount(pair_t, minlength=i.size)
    t_first = np.searchsorted(pair_t, np.arange(i.size))
    per_s = n_t[pair_s]  # segment pairs for each segment of i
    out = np.zeros(i.size)
    ends = np.cumsum(per_s)
    cuts = np.searchsorted(ends, np.arange(SEGMENT_PAIRS_CHUNK, ends[-1] if ends.size else 0, SEGMENT_PAIRS_CHUNK))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, per_s.size], strict=True):
        rows = np.arange(lo, hi)[per_s[lo:hi] > 0]
        if rows.size == 0:
            continue
        reps = per_s[rows]
        row = np.repeat(rows, reps)
        offset = np.arange(row.size) - np.repeat(np.cumsum(reps) - reps, reps)
        t_rows = t_idx[t_first[pair_s[row]] + offset]
        start, end = segment_reach(seg[s_idx[row]], seg[t_rows], reach_m)
        start = np.where(start <= end, start, np.inf)
        end = np.where(start <= end, end, -np.inf)
        group = np.r_[0, np.cumsum(reps)[:-1]]
        span = np.maximum(np.maximum.reduceat(end, group) - np.minimum.reduceat(start, group), 0.0)
        seg_len = np.hypot(*(seg[s_idx[rows], 2:] - seg[s_idx[rows], :2]).T)
        out += np.bincount(pair_s[rows], weights=span * seg_len, minlength=i.size)
    return out


#: Vertices closer than this are the same vertex when boundaries are compared segment by segment.
SHARED_VERTEX_M = 1e-3


def _exactly_shared_m(
    geoms: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    *,
    segments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Length of boundary the units ``i`` and ``j`` share segment for segment (metres, per pair).

    ``segments``: :func:`_boundary_segments` of ``geoms`` when the caller has them.
    """
    seg, unit, _ = _boundary_segments(geoms) if segments is None else segments
    a = np.round(seg[:, :2] / SHARED_VERTEX_M).astype(np.int64)
    b = np.round(seg[:, 2:] / SHARED_VERTEX_M).astype(np.int64)
    length = np.hypot(*(seg[:, 2:] - seg[:, :2]).T)
    flip = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo, hi = np.where(flip[:, None], b, a), np.where(flip[:, None], a, b)
    _, segment = np.unique(np.column_stack([lo, hi]), axis=0, return_inverse=True)
    segment = segment.ravel()
    # Each (segment, unit) once; a segment held by two units is shared by that pair.
    order = np.lexsort((unit, segment))
    segment, unit, length = segment[order], unit[order], length[order]
    first = np.r_[True, (segment[1:] != segment[:-1]) | (unit[1:] != unit[:-1])]
    segment, unit, length = segment[first], unit[first], length[first]
    pair_at = np.flatnonzero(segment[1:] == segment[:-1])
    u, v = unit[pair_at].astype(np.int64), unit[pair_at + 1].astype(np.int64)
    n = np.int64(len(geoms))
    shared_key, shared_len = np.unique(np.minimum(u, v) * n + np.maximum(u, v), return_inverse=True)
    total = np.bincount(shared_len.ravel(), weights=length[pair_at], minlength=shared_key.size)
    key = i.astype(np.int64) * n + j
    at = np.searchsorted(shared_key, key)
    found = at < shared_key.size
    found[found] = shared_key[at[found]] == key[found]
    out = np.zeros(key.size)
    out[found] = total[at[found]]
    return out
