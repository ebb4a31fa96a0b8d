"""Map layers served by viewport and zoom: what a browser needs to draw the view, not the county.

A county's streets, buildings and service areas as whole GeoJSON are tens of megabytes; the
planner sees a window of it, at a scale where a metre is a fraction of a pixel or several
pixels.  :class:`ViewLayer` holds a layer once (WGS84, indexed by an STR-tree) and answers
``view(bbox, zoom)`` with the features inside the window that show at that zoom, clipped to
the window and simplified to about half a screen pixel.  :func:`aggregate_points` turns
point layers (residents' walking times) into cells when zoomed out.

Zoom levels are the web map's (Leaflet/OSM): at zoom ``z`` a screen pixel is
``156543 m x cos(latitude) / 2**z`` on the ground (zoom 15 ≈ 4 m, zoom 12 ≈ 33 m in Quanzhou).
Framework-free: the web app turns the frames into GeoJSON.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.io.drawn import BadNumberError, parse_number

__all__ = [
    "MAX_ZOOM",
    "MIN_ZOOM",
    "ViewLayer",
    "aggregate_points",
    "check_view",
    "coordinate_digits",
    "metres_per_pixel",
]

MIN_ZOOM, MAX_ZOOM = 0, 22
#: Ground metres of a screen pixel at zoom 0 on the equator (256-pixel web-mercator tiles).
_M_PER_PX_Z0 = 156_543.033_928
#: Simplification tolerance, in screen pixels (a pixel's deviation of an outline is not seen).
TOLERANCE_PX = 1.0
#: Metres in a degree of latitude.
_M_PER_DEG = 111_320.0
#: From this zoom a window is clipped before it is simplified (instead of simplifying the whole
#: layer for the zoom); from zoom 18 geometries are sent as they are.
DETAIL_ZOOM = 14
#: Windows wider than this (degrees) are refused: no county is larger.
MAX_VIEW_DEG = 10.0


def metres_per_pixel(zoom: float, lat: float) -> float:
    """Ground metres of one screen pixel at a web-map zoom and latitude."""
    return _M_PER_PX_Z0 * math.cos(math.radians(lat)) / 2.0**zoom


def coordinate_digits(zoom: int) -> int:
    """Decimals of degrees worth sending at a zoom (a tenth of a pixel or finer)."""
    pixel_deg = 360.0 / (256.0 * 2.0**zoom)
    return int(min(7, max(4, math.ceil(-math.log10(pixel_deg / 10.0)))))


def check_view(bbox: Sequence[float], zoom: float) -> tuple[tuple[float, float, float, float], int]:
    """The window (west, south, east, north in degrees) and the whole zoom, checked.

    Raises
    ------
    InputDataError
        Not four finite numbers in order, outside the globe, wider than :data:`MAX_VIEW_DEG`, or a
        zoom outside 0-22.
    """
    if len(bbox) != 4:
        raise InputDataError("视窗 bbox 应为 西,南,东,北 四个数，zoom 为缩放级别 (bbox=w,s,e,n and zoom)")
    try:
        w, s, e, n = (parse_number(v, "bbox") if isinstance(v, str) else float(v) for v in bbox)
        z = parse_number(zoom, "zoom") if isinstance(zoom, str) else float(zoom)
    except (TypeError, ValueError) as exc:
        raise BadNumberError(
            f"视窗 bbox 应为 西,南,东,北 四个数，zoom 为缩放级别 (bbox=w,s,e,n and zoom): {exc}"
        ) from None
    if not all(math.isfinite(v) for v in (w, s, e, n, z)) or not (w < e and s < n):
        raise InputDataError("视窗 bbox 无效：应为 西<东、南<北 的有限数 (bbox must be w<e, s<n)")
    if not (w >= -180 and e <= 180 and s >= -90 and n <= 90) or e - w > MAX_VIEW_DEG or n - s > MAX_VIEW_DEG:
        raise InputDataError(f"视窗 bbox 超出范围（每边不超过 {MAX_VIEW_DEG:g} 度） (bbox out of range)")
    if not (MIN_ZOOM <= z <= MAX_ZOOM):
        raise InputDataError(f"缩放级别 zoom 应在 {MIN_ZOOM}-{MAX_ZOOM} 之间 (zoom out of range)")
    return (w, s, e, n), int(z)


@dataclass(eq=False)
class ViewLayer:
    """A layer (WGS84) answered by window and zoom.

    Attributes
    ----------
    frame
        The features in WGS84, with the properties sent along.
    min_zoom
        Per feature, the smallest zoom it is drawn at (streets at 13, paths at 15 ...).
    merge_by
        Property columns whose equal values are merged into one multi-geometry per answer
        (thousands of street segments become a few features); ``None``: one feature each.
    """

    frame: gpd.GeoDataFrame
    min_zoom: np.ndarray
    merge_by: tuple[str, ...] | None = None
    _tree: shapely.STRtree | None = None
    _simplified: dict[int, np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.frame.crs is None or not self.frame.crs.equals(WGS84):
            self.frame = self.frame.to_crs(WGS84)
        self.frame = self.frame.reset_index(drop=True)
        self.min_zoom = np.broadcast_to(np.asarray(self.min_zoom, dtype=np.int16), (len(self.frame),)).copy()
        lines = len(self.frame) and set(shapely.get_type_id(self.frame.geometry.to_numpy()).tolist()) <= {1, 5}
        if self.merge_by is not None and lines and self.min_zoom.min() < DETAIL_ZOOM:
            # Street segments joined into lines once: a county's half-million segments become a few
            # thousand lines, simplified per zoom in a fraction of the time and memory.  (Features
            # drawn only from DETAIL_ZOOM are clipped per window first and merged per answer.)
            frame = self.frame.assign(_min_zoom=self.min_zoom)
            merged = _merge(frame, [*self.merge_by, "_min_zoom"])
            self.frame, self.min_zoom = merged, merged.pop("_min_zoom").to_numpy(np.int16)
        # Multi-part features as their parts (the merged lines; a function's dissolved service
        # areas, a few multipolygons of hundreds of parts): a window then clips and simplifies
        # only the parts it shows, not the county's whole outline on every request.
        parts, owner = shapely.get_parts(self.frame.geometry.to_numpy(), return_index=True)
        if parts.size > len(self.frame):
            self.frame = gpd.GeoDataFrame(
                self.frame.drop(columns=self.frame.geometry.name).iloc[owner].reset_index(drop=True),
                geometry=parts,
                crs=WGS84,
            )
            self.min_zoom = self.min_zoom[owner]
        self._tree = shapely.STRtree(self.frame.geometry.to_numpy())
        lat = self.frame.total_bounds[[1, 3]].mean() if len(self.frame) else 0.0
        self._lat = float(lat) if np.isfinite(lat) else 0.0

    def _tolerance_deg(self, zoom: int) -> float:
        return TOLERANCE_PX * metres_per_pixel(zoom, self._lat) / _M_PER_DEG

    def _geometries(self, zoom: int) -> np.ndarray:
        """Every geometry simplified for ``zoom`` (computed once per zoom, for zooms below :data:`DETAIL_ZOOM`)."""
        with self._lock:
            cached = self._simplified.get(zoom)
            if cached is None:
                tolerance = self._tolerance_deg(zoom)
                geoms = self.frame.geometry.to_numpy()
                cached = np.full(len(geoms), None, dtype=object)
                shown = self.min_zoom <= zoom  # what is not drawn at this zoom is not simplified for it
                cached[shown] = _without_specks(
                    shapely.simplify(geoms[shown], tolerance, preserve_topology=False), tolerance
                )
                self._simplified[zoom] = cached
        return cached

    def view(self, bbox: Sequence[float], zoom: float, *, margin: float = 0.1) -> gpd.GeoDataFrame:
        """The features in the window (``margin`` of its size added around) that show at ``zoom``.

        Geometries are simplified to half a pixel, clipped to the window and empty ones dropped;
        with ``merge_by``, one multi-geometry per distinct value.
        """
        (w, s, e, n), z = check_view(bbox, zoom)
        dx, dy = (e - w) * margin, (n - s) * margin
        w, s, e, n = w - dx, s - dy, e + dx, n + dy
        assert self._tree is not None
        hit = self._tree.query(shapely.box(w, s, e, n))
        hit = np.sort(hit[self.min_zoom[hit] <= z])
        # Zoomed out, the whole layer is simplified once per zoom and then clipped; zoomed in, the
        # window is a small part of it: clipped first, then simplified (no whole-county work).
        geoms = self._geometries(z)[hit] if z < DETAIL_ZOOM else self.frame.geometry.to_numpy()[hit]
        bounds = shapely.bounds(geoms)
        outside = (bounds[:, 0] < w) | (bounds[:, 1] < s) | (bounds[:, 2] > e) | (bounds[:, 3] > n)
        if outside.any():
            geoms = geoms.copy()
            geoms[outside] = shapely.clip_by_rect(geoms[outside], w, s, e, n)
        if z >= DETAIL_ZOOM and z < 18:
            tolerance = self._tolerance_deg(z)
            geoms = _without_specks(shapely.simplify(geoms, tolerance, preserve_topology=False), tolerance)
        keep = ~shapely.is_empty(geoms)
        out = gpd.GeoDataFrame(
            self.frame.drop(columns=self.frame.geometry.name).iloc[hit[keep]].reset_index(drop=True),
            geometry=geoms[keep],
            crs=WGS84,
        )
        if self.merge_by is None or out.empty:
            return out
        return _merge(out, list(self.merge_by))


#: Polygon parts and holes smaller than this many (tolerance-sized) pixels squared are not drawn.
SPECK_PX2 = 16.0


def _without_specks(geoms: np.ndarray, tolerance_deg: float) -> np.ndarray:
    """Polygons without the parts and holes too small to see at this scale (lines are left as they are)."""
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygonal.any():
        return geoms
    min_area = SPECK_PX2 * (2 * tolerance_deg) ** 2
    out = geoms.copy()
    for k in np.flatnonzero(polygonal):
        parts = shapely.get_parts(geoms[k])
        kept = []
        for part in parts[shapely.area(parts) >= min_area]:
            holes = [ring for ring in part.interiors if shapely.area(shapely.Polygon(ring)) >= min_area]
            kept.append(shapely.Polygon(part.exterior, holes) if len(holes) < len(part.interiors) else part)
        out[k] = shapely.MultiPolygon(kept) if kept else shapely.MultiPolygon()
    return out


def _merge(frame: gpd.GeoDataFrame, by: list[str]) -> gpd.GeoDataFrame:
    codes = frame.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
    parts, owner = shapely.get_parts(frame.geometry.to_numpy(), return_index=True)
    group = codes[owner]
    order = np.argsort(group, kind="stable")
    parts, group = parts[order], group[order]
    keys = frame.groupby(by, sort=False, dropna=False).size().reset_index()[by]
    types = set(shapely.get_type_id(parts).tolist())
    if types <= {1, 2}:
        # Segments joined into lines: each shared vertex is sent once.
        merged = shapely.line_merge(shapely.multilinestrings(parts, indices=group))
    elif types <= {3}:
        merged = shapely.multipolygons(parts, indices=group)
    else:
        merged = shapely.geometrycollections(parts, indices=group)
    return gpd.GeoDataFrame(keys, geometry=merged, crs=frame.crs)


def aggregate_points(
    points: gpd.GeoDataFrame, zoom: int, *, weight: str, values: Sequence[str] = (), cell_px: float = 48.0
) -> gpd.GeoDataFrame:
    """Points gathered into square cells of ``cell_px`` screen pixels at ``zoom`` (WGS84 centres).

    Each cell gets the sum of ``weight`` (``count`` points), the ``weight``-weighted mean of each
    of ``values`` (over the finite ones; NaN when none is, e.g. nobody there reaches a
    facility) and the share of the weight with a finite value in ``<value>_reached``.
    """
    if points.empty:
        return points.iloc[:0]
    lat = float(np.mean(points.total_bounds[[1, 3]]))
    cell_deg_y = cell_px * metres_per_pixel(zoom, lat) / _M_PER_DEG
    cell_deg_x = cell_deg_y / max(math.cos(math.radians(lat)), 0.1)
    xy = shapely.get_coordinates(points.geometry.to_numpy())
    ix = np.floor(xy[:, 0] / cell_deg_x).astype(np.int64)
    iy = np.floor(xy[:, 1] / cell_deg_y).astype(np.int64)
    _, cell = np.unique(np.column_stack([ix, iy]), axis=0, return_inverse=True)
    cell = cell.ravel()
    k = int(cell.max()) + 1
    w = points[weight].to_numpy(float)
    total = np.bincount(cell, weights=w, minlength=k)
    out = {weight: total, "count": np.bincount(cell, minlength=k)}
    cx = np.bincount(cell, weights=xy[:, 0] * w, minlength=k)
    cy = np.bincount(cell, weights=xy[:, 1] * w, minlength=k)
    plain_x = np.bincount(cell, weights=xy[:, 0], minlength=k) / out["count"]
    plain_y = np.bincount(cell, weights=xy[:, 1], minlength=k) / out["count"]
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(total > 0, cx / total, plain_x)
        y = np.where(total > 0, cy / total, plain_y)
        for column in values:
            v = points[column].to_numpy(float)
            finite = np.isfinite(v)
            reached = np.bincount(cell[finite], weights=w[finite], minlength=k)
            mean = np.bincount(cell[finite], weights=(v * w)[finite], minlength=k) / reached
            out[column] = np.where(reached > 0, mean, np.nan)
            out[f"{column}_reached"] = np.where(total > 0, reached / total, 0.0)
    return gpd.GeoDataFrame(pd.DataFrame(out), geometry=shapely.points(x, y), crs=points.crs)
