"""Candidate sites for new neighbourhood centres: network nodes on a spacing, a planner's file, existing facilities.

Every reader returns points with a ``source`` column saying where each site came from.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.errors import InputDataError
from geo.network.graph import CostGraph

logger = logging.getLogger(__name__)

__all__ = ["CANDIDATE_SPACING_M", "as_points", "candidates_from_points", "network_candidates", "read_candidates"]

# Documented default: geo/settings.py (source there).
CANDIDATE_SPACING_M: float = settings.PLACEMENT_CANDIDATE_SPACING_M


def as_points(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """``frame`` as points (a parcel becomes its representative point); :class:`InputDataError` if empty or CRS-less."""
    if frame.crs is None:
        raise InputDataError(f"{what}没有坐标系 ({what} has no CRS)")
    if len(frame) == 0:
        raise InputDataError(f"{what}为空 (no {what} given)")
    geoms = frame.geometry.to_numpy()
    if shapely.is_empty(geoms).any() or pd.isna(geoms).any():
        raise InputDataError(f"{what}含有空几何 (empty geometries)")
    kinds = shapely.get_type_id(geoms)
    if not np.isin(kinds, (0, 3, 4, 6)).all():
        raise InputDataError(f"{what}应为点或面 ({what} must be points or polygons; got lines)")
    several = np.flatnonzero((kinds == 4) & (shapely.get_num_geometries(geoms) > 1))
    if several.size:
        # Never its first point: a MultiPoint is several sites, each to be a candidate on its own.
        rows = ", ".join(str(k + 1) for k in several[:10])
        raise InputDataError(
            f"{what}第 {rows} 个要素是含多个点的多点 (MultiPoint)；请在 GIS 软件中拆分为单点后重新提供 "
            f"({what}rows {rows}: MultiPoints of several points; split them into single points)"
        )
    out = frame.copy()
    if (kinds != 0).any():
        out = out.set_geometry(shapely.point_on_surface(geoms), crs=frame.crs)
    return out


def network_candidates(
    graph: CostGraph, *, spacing_m: float = CANDIDATE_SPACING_M, boundary: shapely.Geometry | None = None
) -> gpd.GeoDataFrame:
    """Network nodes sampled on a square grid of ``spacing_m`` metres: one per cell, nearest its centre.

    Parameters
    ----------
    graph
        Routing graph; only nodes on its snappable (main-component) edges are used.
    spacing_m
        Cell side in metres (network CRS).
    boundary
        Optional polygon in the network's CRS: nodes outside are dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        ``node``, ``source`` (``network``), points in the network's CRS.

    Raises
    ------
    InputDataError
        ``spacing_m`` not positive, or no node left.
    """
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        raise InputDataError(f"候选点间距 spacing_m={spacing_m} 须为正数 (spacing must be > 0 m)")
    net = graph.network
    edges = graph.snappable_edges
    nodes = np.unique(np.r_[net.edge_u[edges], net.edge_v[edges]])
    xy = net.node_xy[nodes]
    if boundary is not None:
        inside = shapely.contains_xy(boundary, xy[:, 0], xy[:, 1])
        nodes, xy = nodes[inside], xy[inside]
    if nodes.size == 0:
        raise InputDataError("研究范围内没有路网节点可作候选点 (no network node inside the study area)")
    cell = np.floor(xy / spacing_m).astype(np.int64)
    off = np.hypot(*(xy - (cell + 0.5) * spacing_m).T)
    order = np.lexsort((off, cell[:, 1], cell[:, 0]))
    first = np.ones(order.size, bool)
    first[1:] = (np.diff(cell[order, 0]) != 0) | (np.diff(cell[order, 1]) != 0)
    pick = np.sort(order[first])
    return gpd.GeoDataFrame({"node": nodes[pick], "source": "network"}, geometry=shapely.points(xy[pick]), crs=net.crs)


def read_candidates(
    path: Path, *, system: str = "wgs84", study_area: shapely.Geometry | None = None
) -> gpd.GeoDataFrame:
    """Candidate sites from a planner's file (points, or parcels/buildings as polygons).

    Read through :func:`geo.io.uploads.read_upload` (every docs/bad-inputs.md U-rule).  Polygons
    stand for a point on their surface.  Optional columns ``required`` / ``excluded``
    (1/0, 是/否, true/false) force a site in or out.

    Returns
    -------
    geopandas.GeoDataFrame
        WGS84 points with ``source`` = ``upload`` and boolean ``required`` / ``excluded``.
    """
    from geo.io.uploads import read_upload

    frame = read_upload(Path(path), expected="any", system=system, study_area=study_area)
    frame = as_points(frame, "候选点 ")
    for column in ("required", "excluded"):
        if column in frame.columns:
            frame[column] = frame[column].map(_truthy)
    return frame.assign(source="upload")


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "y", "是", "必选", "排除", "1.0"}


def candidates_from_points(frame: gpd.GeoDataFrame, *, source: str = "facilities") -> gpd.GeoDataFrame:
    """Existing facilities or buildings as candidate sites (polygons: a point on their surface)."""
    return as_points(frame, "候选点 ").assign(source=source)
