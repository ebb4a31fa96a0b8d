"""Shapely geometries as matplotlib artists, without GeoPandas' plotting.

``GeoSeries.plot`` redraws the whole figure after every call (``canvas.draw_idle``, which a
non-interactive canvas carries out at once): on a county's map, with half a million streets
already on the axes, each outline plotted that way cost a second and a half.  These build
the artists directly, in a few vectorised steps, and add them to the axes.
"""

from __future__ import annotations

import numpy as np
import shapely
from matplotlib.collections import PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path

__all__ = ["add_lines", "add_polygons", "line_paths"]

#: Lines gathered into one path each: few enough artists to build fast, paths short enough
#: for Agg to fill its cells without running out.
LINES_PER_PATH = 256


def _lines_of(geoms) -> np.ndarray:
    """The line parts of any geometries (polygons give their rings)."""
    geoms = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(geoms)  # -1 for a missing geometry
    geoms, types = geoms[types >= 0], types[types >= 0]
    keep = ~shapely.is_empty(geoms)
    geoms, types = geoms[keep], types[keep]
    if np.all(types == shapely.GeometryType.LINESTRING):  # a network's streets: nothing to take apart
        return geoms
    polygonal = np.isin(types, (3, 6))
    geoms = geoms.copy()
    geoms[polygonal] = shapely.boundary(geoms[polygonal])
    return shapely.get_parts(shapely.get_parts(geoms))


def line_paths(geoms, per_path: int = LINES_PER_PATH) -> list[Path]:
    """Lines as a few compound paths (``per_path`` lines each, a move-to at every line's start)."""
    coords, index = shapely.get_coordinates(_lines_of(geoms), return_index=True)
    if index.size == 0:
        return []
    codes = np.full(index.size, Path.LINETO, dtype=Path.code_type)
    starts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    codes[starts] = Path.MOVETO
    cuts = starts[per_path::per_path]
    return [Path(c, k) for c, k in zip(np.split(coords, cuts), np.split(codes, cuts), strict=True)]


def add_lines(ax, geoms, *, color, linewidth: float, zorder: float, linestyle="-", rasterized=False):
    """Draw lines (or polygons' outlines) into ``ax``; returns the collection."""
    paths = line_paths(geoms)
    collection = PatchCollection(
        [PathPatch(p) for p in paths],
        facecolor="none",
        edgecolor=color,
        linewidth=linewidth,
        linestyle=linestyle,
        zorder=zorder,
    )
    collection.set_rasterized(rasterized)
    ax.add_collection(collection, autolim=False)
    return collection


def _polygon_path(polygon: shapely.Polygon) -> Path:
    rings = [polygon.exterior, *polygon.interiors]
    coords = [np.asarray(r.coords) for r in rings]
    codes = [np.r_[Path.MOVETO, np.full(len(c) - 2, Path.LINETO), Path.CLOSEPOLY] for c in coords]
    return Path(np.concatenate(coords), np.concatenate(codes).astype(Path.code_type))


def add_polygons(ax, geoms, *, color, alpha: float, zorder: float, edgecolor=None, linewidth: float = 0.0):
    """Fill polygons (with their holes) into ``ax``; returns the collection."""
    geoms = np.asarray(geoms, dtype=object)
    parts = shapely.get_parts(geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)])
    parts = parts[shapely.get_type_id(parts) == 3]
    collection = PatchCollection(
        [PathPatch(_polygon_path(p)) for p in parts],
        facecolor=color,
        edgecolor=color if edgecolor is None else edgecolor,
        linewidth=linewidth,
        alpha=alpha,
        zorder=zorder,
    )
    ax.add_collection(collection, autolim=False)
    return collection
