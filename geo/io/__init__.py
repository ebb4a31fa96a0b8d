"""Readers and writers: OSM and planners' files, uploads, coordinate systems, boundaries, exports.

Where a user starts:

* :func:`read_upload` — any planner's file (GeoJSON, GeoPackage, zipped Shapefile, CSV/XLSX with
  coordinates), checked and converted to WGS84 from the coordinate ``system`` it was made in;
* :func:`to_wgs84` and the GCJ-02 / BD-09 conversions of Chinese web maps; :func:`metric_crs`;
* :func:`load_boundaries`, :func:`county` — the bundled Quanzhou county boundaries;
* :func:`parse_geometry` — geometry drawn in the browser, checked;
* :func:`write_gpkg`, :func:`write_geojson`, :func:`write_shapefile_zip`, :func:`write_table`,
  :func:`atomic_write` — every file Linli writes (atomic, formula-safe, Chinese layer names).
"""

from geo.io.boundaries import county, load_boundaries
from geo.io.coords import SYSTEMS, to_wgs84
from geo.io.crs import WGS84, metric_crs
from geo.io.drawn import DrawnGeometry, parse_geometry
from geo.io.export import (
    atomic_write,
    write_csv,
    write_geojson,
    write_gpkg,
    write_shapefile_zip,
    write_table,
    write_xlsx,
)
from geo.io.uploads import read_upload

__all__ = [
    "SYSTEMS",
    "WGS84",
    "DrawnGeometry",
    "atomic_write",
    "county",
    "load_boundaries",
    "metric_crs",
    "parse_geometry",
    "read_upload",
    "to_wgs84",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_shapefile_zip",
    "write_table",
    "write_xlsx",
]
