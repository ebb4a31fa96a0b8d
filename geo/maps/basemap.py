"""An offline base map drawn from the project's own data: roads, buildings, water, green.

Web tile servers are optional (and GCJ-02 tiles do not line up with WGS84 data): the
map must look finished without them.  Roads come from the walk network (classed by
``highway``); buildings, water and green areas from the project's OSM file when it
has one.  Everything is returned in WGS84, simplified to what a screen shows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.io.crs import WGS84
from geo.network.graph import WalkNetwork

logger = logging.getLogger(__name__)

__all__ = ["ROAD_CLASSES", "area_layers", "road_layer"]

#: Road classes of the base map: highway values -> class drawn.
ROAD_CLASSES = {
    "major": ("primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link", "trunk"),
    "street": ("residential", "unclassified", "living_street", "service", "road", "pedestrian"),
}
#: Simplification tolerance of base geometries (metres): under a pixel at street zoom.
SIMPLIFY_M = 1.0
WATER: dict[str, tuple[str, ...] | None] = {
    "natural": ("water",),
    "waterway": ("riverbank", "dock"),
    "water": None,
    "landuse": ("reservoir", "basin"),
}
GREEN = {
    "leisure": ("park", "garden", "playground", "pitch", "common"),
    "landuse": ("grass", "forest", "meadow", "recreation_ground", "village_green", "cemetery"),
    "natural": ("wood", "scrub", "grassland"),
}


def road_layer(net: WalkNetwork) -> gpd.GeoDataFrame:
    """The network's streets with a ``cls`` (major / street / path) and ``name``, WGS84."""
    highway = net.edge_highway.astype(str)
    cls = np.full(highway.shape, "path", dtype=object)
    for name, values in ROAD_CLASSES.items():
        cls[np.isin(highway, values)] = name
    frame = gpd.GeoDataFrame(
        {"cls": cls, "name": net.edge_name.astype(str)},
        geometry=shapely.simplify(net.edge_geometry, SIMPLIFY_M),
        crs=net.crs,
    )
    return frame.to_crs(WGS84)


def _kind(tags: dict[str, str]) -> str | None:
    if "building" in tags and tags["building"] != "no":
        return "building"
    for key, values in WATER.items():
        if key in tags and (values is None or tags[key] in values):
            return "water"
    for key, values in GREEN.items():
        if tags.get(key) in values:
            return "green"
    return None


def area_layers(path: Path, *, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Buildings, water and green areas of an OSM file: ``kind``, ``name``, polygons in WGS84.

    Areas libosmium cannot assemble (broken rings at the extract's edge) are skipped.
    """
    import osmium

    wkb = osmium.geom.WKBFactory()
    kinds: list[str] = []
    names: list[str] = []
    blobs: list[bytes] = []
    keys = ("building", "natural", "waterway", "water", "landuse", "leisure")
    processor = osmium.FileProcessor(str(path)).with_areas().with_filter(osmium.filter.KeyFilter(*keys))
    for obj in processor:
        if not isinstance(obj, osmium.osm.Area):
            continue
        tags = {t.k: t.v for t in obj.tags}
        kind = _kind(tags)
        if kind is None:
            continue
        try:
            blob = wkb.create_multipolygon(obj)
        except RuntimeError:
            continue
        kinds.append(kind)
        names.append(tags.get("name:zh", tags.get("name", "")))
        blobs.append(bytes.fromhex(blob) if isinstance(blob, str) else blob)
    geoms = shapely.from_wkb(np.array(blobs, dtype=object)) if blobs else np.array([], dtype=object)
    frame = gpd.GeoDataFrame({"kind": kinds, "name": names}, geometry=geoms, crs=WGS84)
    if bbox is not None and len(frame):
        frame = frame[frame.intersects(shapely.box(*bbox))]
    if len(frame):
        metric = frame.estimate_utm_crs()
        frame = frame.to_crs(metric)
        frame["geometry"] = shapely.simplify(frame.geometry.to_numpy(), SIMPLIFY_M)
        frame = frame[~frame.geometry.is_empty].to_crs(WGS84)
    logger.info("base map areas of %s: %s", path.name, frame["kind"].value_counts().to_dict())
    return frame.reset_index(drop=True)
