"""Chinese web-map coordinate systems: WGS84 <-> GCJ-02 <-> BD-09.

Planners pick points in Amap or Tencent maps (GCJ-02, the "Mars" offset of
100-700 m mandated for published maps in China) or Baidu maps (BD-09, a further
offset of GCJ-02), and national maps come in CGCS2000, which at map scale equals
WGS84.  Everything inside ``geo`` is WGS84 at the edges: data in another system is
converted on the way in.

* ``wgs84_to_gcj02`` is the published forward algorithm (Krasovsky 1940 ellipsoid,
  polynomial offsets); points outside China's bounding box are not shifted.
* ``gcj02_to_wgs84`` inverts it by fixed-point iteration to 1e-9 degree (well under
  a millimetre); the forward offset is smooth, so 4-6 iterations suffice.
* BD-09 is GCJ-02 turned by a small angle about a shifted origin; its inverse is also
  iterated to 1e-9 degree.

All functions take and return numpy arrays (or scalars) of longitude and latitude
in degrees, vectorised.
"""

from __future__ import annotations

import numpy as np

from geo.errors import InputDataError

__all__ = [
    "SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Semi-major axis and first eccentricity squared of the Krasovsky 1940 ellipsoid,
#: used by the GCJ-02 algorithm.
KRASOVSKY_A_M = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
#: The bounding box GCJ-02 implementations use to decide "inside China"
#: (degrees: west, south, east, north); points outside are returned unchanged.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)
#: BD-09's rotation constant (pi * 3000 / 180).
BD_X_PI = np.pi * 3000.0 / 180.0
#: Inverse iterations stop when the residual is below this (degrees, ~0.1 mm).
INVERSE_TOLERANCE_DEG = 1e-9
INVERSE_MAX_ITERATIONS = 30

#: Names a planner may give for the system of their coordinates.
SYSTEMS = {
    "wgs84": "WGS84 (GPS, OpenStreetMap)",
    "cgcs2000": "CGCS2000 (国家2000, 与 WGS84 在地图精度内一致)",
    "gcj02": "GCJ-02 (高德/腾讯地图拾取)",
    "bd09": "BD-09 (百度地图拾取)",
}


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def in_china(lon, lat) -> np.ndarray:
    """Whether points fall in the box where GCJ-02 applies (bool array)."""
    lon, lat = _arrays(lon, lat)
    west, south, east, north = CHINA_BBOX
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (degrees) of WGS84 points, before the inside-China test."""
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d_lon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((KRASOVSKY_A_M * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (KRASOVSKY_A_M / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 (degrees); points outside China are returned unchanged."""
    lon, lat = _arrays(lon, lat)
    d_lon, d_lat = _offset(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + d_lon, lon), np.where(inside, lat + d_lat, lat)


def _invert(forward, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x) = (lon, lat) by fixed-point iteration from x = (lon, lat)."""
    lon, lat = _arrays(lon, lat)
    x, y = lon.copy(), lat.copy()
    for _ in range(INVERSE_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if np.all(np.abs(dx) < INVERSE_TOLERANCE_DEG) and np.all(np.abs(dy) < INVERSE_TOLERANCE_DEG):
            break
    return x, y


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS84 (degrees), the iterative inverse of :func:`wgs84_to_gcj02`."""
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (degrees)."""
    lon, lat = _arrays(lon, lat)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02 (degrees), iterated to 1e-9 degree."""
    return _invert(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> BD-09 (degrees)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> WGS84 (degrees)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon, lat, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert planner coordinates in ``system`` to WGS84.

    Parameters
    ----------
    lon, lat
        Degrees.
    system
        One of :data:`SYSTEMS` (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).

    Raises
    ------
    InputDataError
        Unknown system name.
    """
    key = str(system).strip().lower().replace("-", "").replace("_", "")
    if key in ("wgs84", "cgcs2000", "epsg4326", "epsg4490"):
        return _arrays(lon, lat)
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    allowed = ", ".join(SYSTEMS)
    raise InputDataError(
        f"坐标系 {system!r} 无效，可选: {allowed}（高德/腾讯拾取为 gcj02，百度为 bd09） "
        f"(unknown coordinate system; allowed: {allowed})"
    )
