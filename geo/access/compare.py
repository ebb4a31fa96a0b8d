"""A planned (drawn) service area against the one computed on the network.

Planners draw the area they think a center serves; the network says what is really
within the walk.  The comparison gives both areas and residents, and the two
differences: drawn but not reachable (promised to residents who cannot walk there in
time) and reachable but not drawn (served, but left out of the plan).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo import settings
from geo.access.service_area import service_areas
from geo.errors import InputDataError
from geo.io.drawn import GeometryTooLargeError
from geo.network.graph import CostGraph
from geo.network.snapping import snap_points

__all__ = ["compare_service_area", "simplify_drawn"]


def simplify_drawn(drawn: shapely.Geometry) -> shapely.Geometry:
    """The drawn area (network CRS, metres) simplified at ``settings.COMPARE_SIMPLIFY_M``.

    Raises
    ------
    GeometryTooLargeError
        More than ``settings.MAX_COMPARE_VERTICES`` vertices remain: the overlays would cost
        without bound.
    """
    tol_m = settings.COMPARE_SIMPLIFY_M
    simple = shapely.simplify(drawn, tol_m, preserve_topology=True)
    n = int(shapely.get_num_coordinates(simple))
    if n > settings.MAX_COMPARE_VERTICES:
        raise GeometryTooLargeError(
            f"规划范围化简（{tol_m:g} 米）后仍有 {n:,} 个顶点，超过比较上限 {settings.MAX_COMPARE_VERTICES:,}，"
            f"请简化图形 (the drawn area keeps {n:,} vertices after simplifying at {tol_m:g} m; "
            f"at most {settings.MAX_COMPARE_VERTICES:,} are compared: simplify the outline)"
        )
    return simple


def _residents(demand: gpd.GeoDataFrame, area: shapely.Geometry) -> float:
    if area.is_empty or demand.empty:
        return 0.0
    points = shapely.point_on_surface(demand.geometry.to_numpy())
    inside = shapely.contains_xy(area, *shapely.get_coordinates(points).T)
    return float(demand["residents"].to_numpy(float)[inside].sum())


def compare_service_area(
    graph: CostGraph,
    demand: gpd.GeoDataFrame,
    drawn: shapely.Geometry,
    *,
    center: shapely.Point | None = None,
    minutes: float = 15.0,
) -> dict:
    """Compare a drawn polygon (network CRS) with the service area of its center.

    Parameters
    ----------
    graph
        Routing graph of the profile.
    demand
        Demand points with ``residents`` in the network's CRS.
    drawn
        The planned service area, in the network's CRS.
    center
        The center it belongs to (network CRS); default a point inside the drawing.
    minutes
        The walking budget of the computed area.

    Raises
    ------
    InputDataError
        Empty drawing, or a center too far from the network.
    GeometryTooLargeError
        Too many vertices even after simplifying (:func:`simplify_drawn`).

    Returns
    -------
    dict
        ``drawn_m2``, ``computed_m2``, ``overlap_m2``, ``iou`` (intersection over
        union), residents in each (``drawn_residents`` ...), ``drawn_vertices`` (the vertices
        compared, after simplifying at ``simplify_m``), and the geometries
        ``computed``, ``drawn_not_reachable``, ``reachable_not_drawn`` (network CRS)
        with their areas and residents.
    """
    if drawn.is_empty or drawn.area <= 0:
        raise InputDataError("规划范围为空 (the drawn area is empty)")
    drawn = simplify_drawn(drawn)
    center = center if center is not None else shapely.point_on_surface(drawn)
    snapped = snap_points(graph, gpd.GeoSeries([center], crs=graph.network.crs))
    if not snapped.ok[0]:
        raise InputDataError("中心点距步行道路过远，无法计算服务范围 (the center is too far from the walk network)")
    areas = service_areas(graph, snapped, minutes=[minutes])
    computed = areas.geometry.iloc[0] if len(areas) else shapely.Polygon()
    overlap = shapely.intersection(drawn, computed)
    union = shapely.union(drawn, computed)
    not_reachable = shapely.difference(drawn, computed)
    not_drawn = shapely.difference(computed, drawn)
    return {
        "minutes": minutes,
        "drawn_vertices": int(shapely.get_num_coordinates(drawn)),
        "simplify_m": settings.COMPARE_SIMPLIFY_M,
        "drawn_m2": float(drawn.area),
        "computed_m2": float(computed.area),
        "overlap_m2": float(overlap.area),
        "iou": float(overlap.area / union.area) if union.area > 0 else np.nan,
        "drawn_residents": _residents(demand, drawn),
        "computed_residents": _residents(demand, computed),
        "drawn_not_reachable_m2": float(not_reachable.area),
        "drawn_not_reachable_residents": _residents(demand, not_reachable),
        "reachable_not_drawn_m2": float(not_drawn.area),
        "reachable_not_drawn_residents": _residents(demand, not_drawn),
        "computed": computed,
        "drawn_not_reachable": not_reachable,
        "reachable_not_drawn": not_drawn,
    }
