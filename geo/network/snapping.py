"""Snapping points onto the walk network's edges: each origin becomes a virtual node on its nearest edge.

Origins (facilities, homes, drawn points) are snapped onto the nearest *edge*, not
the nearest node: each becomes a virtual source node with two out-arcs, to the
edge's ends, costing the access leg (point to street, at the profile's access
speed) plus the partial edge in each allowed direction.  Virtual nodes have no
in-arcs, so they never carry another origin's path.  Points farther than the
snapping tolerance, or on a disconnected island, are flagged, not moved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from geo import settings
from geo.errors import CRSError, InputDataError
from geo.io.crs import check_lonlat, to_crs
from geo.network.graph import CostGraph, WalkNetwork

logger = logging.getLogger(__name__)

__all__ = ["Snapped", "snap_points"]

# -------------------------------------------------------------------------- snapping


@dataclass(frozen=True)
class Snapped:
    """Points placed on the network's edges.

    Attributes
    ----------
    xy
        float64 (k, 2): the points in the network's CRS.
    edge
        int64 (k,): edge each point is snapped onto, -1 if not snapped.
    pos_m
        float64 (k,): position of the snapped point along the edge, metres from u.
    access_m
        float64 (k,): straight distance from the point to the edge (metres).
    ok
        bool (k,): snapped within the tolerance onto the profile's main component.
    """

    xy: np.ndarray
    edge: np.ndarray
    pos_m: np.ndarray
    access_m: np.ndarray
    ok: np.ndarray

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def status_zh(self) -> np.ndarray:
        """Per point: ``"已连通"`` or ``"距道路过远/设施不连通"`` (too far from the walk network)."""
        return np.where(self.ok, "已连通", "距道路过远/设施不连通")


def snap_points(
    graph: CostGraph,
    points: gpd.GeoSeries | np.ndarray,
    *,
    crs: object | None = None,
    max_snap_m: float = settings.MAX_SNAP_DIST_M,
) -> Snapped:
    """Snap points onto the nearest usable edge of ``graph``'s main component.

    Parameters
    ----------
    graph
        Routing graph of a profile.
    points
        A GeoSeries with a CRS, or an (k, 2) array of x/y in ``crs``.
    crs
        CRS of an array of points (required for arrays: the CRS is asserted on every
        query, docs/bad-inputs.md N8).
    max_snap_m
        Points farther than this from every usable edge are not snapped and are
        reported in ``Snapped.ok`` (docs/bad-inputs.md N5).

    Returns
    -------
    Snapped

    Raises
    ------
    CRSError
        Points without a CRS, or in a CRS that puts them nowhere near the network.
    """
    net = graph.network
    if isinstance(points, gpd.GeoSeries | gpd.GeoDataFrame):
        series = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if series.crs is None:
            raise CRSError("点数据没有坐标系 (points have no CRS); 请说明坐标系，例如 EPSG:4326")
        geoms = series.to_crs(net.crs).to_numpy()
        if not shapely.is_empty(geoms).any() and (shapely.get_type_id(geoms) != 0).any():
            geoms = shapely.centroid(geoms)
        xy = shapely.get_coordinates(geoms)
        if xy.shape[0] != len(series):
            raise InputDataError("点数据含有空几何 (points contain empty geometries)")
    else:
        if crs is None:
            raise CRSError(
                "坐标数组必须给出坐标系 crs (an array of coordinates needs crs=...; the network is in "
                f"{net.crs.to_string()})"
            )
        xy = np.asarray(points, dtype=float).reshape(-1, 2)
        src = to_crs(crs)
        if not src.equals(net.crs):
            if src.is_geographic:
                check_lonlat(xy[:, 0], xy[:, 1], what="点坐标 (point coordinates)")
            xy = shapely.get_coordinates(gpd.GeoSeries(shapely.points(xy), crs=src).to_crs(net.crs).to_numpy())
    if not np.isfinite(xy).all():
        raise InputDataError("点坐标含有 NaN/无穷大 (point coordinates are not finite)")
    k = xy.shape[0]
    edge = np.full(k, -1, dtype=np.int64)
    pos = np.zeros(k)
    access = np.full(k, np.inf)
    if k:
        pts = shapely.points(xy)
        (pi, ti), dist = graph.edge_tree.query_nearest(
            pts, max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        edge[pi] = graph.snappable_edges[ti]
        access[pi] = dist
        pos[pi] = shapely.line_locate_point(net.edge_geometry[edge[pi]], pts[pi])
        ok = edge >= 0
        if not ok.any():
            _check_points_near_network(net, xy)
    else:
        ok = np.zeros(0, dtype=bool)
    if (~ok).any():
        logger.info("snapping: %d of %d points farther than %.0f m from the network", int((~ok).sum()), k, max_snap_m)
    return Snapped(xy=xy, edge=edge, pos_m=pos, access_m=access, ok=ok)


def _check_points_near_network(net: WalkNetwork, xy: np.ndarray) -> None:
    """Raise when no point lies anywhere near the network: a CRS mix-up (docs/bad-inputs.md N8)."""
    minx, miny, maxx, maxy = net.bounds
    margin = max(maxx - minx, maxy - miny)
    inside = (
        (xy[:, 0] > minx - margin)
        & (xy[:, 0] < maxx + margin)
        & (xy[:, 1] > miny - margin)
        & (xy[:, 1] < maxy + margin)
    )
    if not inside.any():
        raise CRSError(
            "所有点都远离路网，坐标系可能不符或经纬度颠倒 (all points are far from the network: "
            f"wrong CRS or swapped axes? network in {net.crs.to_string()})"
        )
