"""Coordinate reference systems: choosing the metric CRS of a study area, checks.

Inside the core everything is metric (metres) in a projected CRS; WGS84 longitude /
latitude only at the edges.  A planner may ask for a specific projected CRS, for
example a CGCS2000 3-degree Gauss-Kruger zone (EPSG:4549 "CM 120E" without the zone
prefix in the easting, EPSG:4528 with it); otherwise the UTM zone of the data is used.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import CRSError, InputDataError

__all__ = ["WGS84", "check_lonlat", "metric_crs", "to_crs"]

WGS84 = CRS.from_epsg(4326)


def to_crs(crs: object) -> CRS:
    """Parse ``crs`` (EPSG code, ``"EPSG:4549"``, WKT, pyproj CRS) into a pyproj CRS.

    Raises
    ------
    CRSError
        If pyproj does not know it.
    """
    if isinstance(crs, CRS):
        return crs
    try:
        if isinstance(crs, (int, np.integer)) or (isinstance(crs, str) and crs.isdigit()):
            return CRS.from_epsg(int(crs))
        return CRS.from_user_input(crs)
    except (ProjCRSError, TypeError, ValueError) as exc:
        raise CRSError(
            f"无法识别的坐标系 {crs!r}，请给出 EPSG 代码，例如 4549 (CGCS2000 / 3-degree "
            f"Gauss-Kruger CM 120E) 或 32650 (WGS 84 / UTM 50N) (unknown CRS {crs!r})"
        ) from exc


def check_lonlat(lon: np.ndarray, lat: np.ndarray, *, what: str) -> None:
    """Check that longitudes and latitudes (degrees, WGS84) are finite and in range.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees.
    what
        What the coordinates are, for the message (``"OSM 节点 / node 123"``).

    Raises
    ------
    InputDataError
        On the first coordinate out of range, naming it (docs/bad-inputs.md N2).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(
            f"{what}: 坐标超出范围 lon={lon[i]}, lat={lat[i]}（经度应在 -180..180，纬度 -90..90），"
            f"共 {int(bad.sum())} 处; 请检查坐标系或经纬度是否颠倒 "
            f"(coordinates out of range; {int(bad.sum())} bad)"
        )


@cache
def _utm(zone: int, north: bool) -> CRS:
    return CRS.from_epsg((32600 if north else 32700) + zone)


def metric_crs(lon: np.ndarray, lat: np.ndarray, *, epsg: object | None = None) -> CRS:
    """Choose the projected metric CRS for data at ``lon``/``lat`` (WGS84 degrees).

    Parameters
    ----------
    lon, lat
        Coordinates of the data (or of its bounding box) in WGS84 degrees.
    epsg
        A CRS asked for by the user; ``None`` chooses the UTM zone of the data.

    Returns
    -------
    pyproj.CRS
        A projected CRS whose axes are in metres.

    Raises
    ------
    CRSError
        If ``epsg`` is geographic, not in metres, or its area of use does not contain
        the data (a CGCS2000 zone for the wrong longitude, for example).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.size == 0:
        raise InputDataError("没有坐标，无法选择投影坐标系 (no coordinates to choose a CRS for)")
    west, east = float(np.min(lon)), float(np.max(lon))
    south, north = float(np.min(lat)), float(np.max(lat))
    if epsg is None:
        lon_c, lat_c = (west + east) / 2.0, (south + north) / 2.0
        # The WGS 84 / UTM zone of the centre: 6-degree bands from 180 W (EPSG 326zz
        # north, 327zz south).  Computed, not looked up: a PROJ database query costs
        # about 0.1 s, which an upload check or a request should not pay.
        zone = min(int((lon_c + 180.0) // 6.0) + 1, 60)
        return _utm(zone, lat_c >= 0.0)
    crs = to_crs(epsg)
    if not crs.is_projected:
        raise CRSError(
            f"坐标系 {crs.to_string()} 不是投影坐标系；分析需要以米为单位的投影坐标系，例如 "
            f"CGCS2000 高斯-克吕格 3 度带 EPSG:4549 或 UTM 50N EPSG:32650 "
            f"(CRS must be projected, in metres)"
        )
    units = {ax.unit_name for ax in crs.axis_info}
    if units - {"metre", "meter"}:
        raise CRSError(f"坐标系 {crs.to_string()} 的单位是 {sorted(units)}，应为米 (CRS units must be metres)")
    aou = crs.area_of_use
    # A margin of half a degree: data just beyond a zone edge is still projected
    # accurately enough, and county extracts often straddle a zone boundary by a little.
    margin_deg = 0.5
    if aou is not None and not (
        aou.west - margin_deg <= west
        and east <= aou.east + margin_deg
        and aou.south - margin_deg <= south
        and north <= aou.north + margin_deg
    ):
        raise CRSError(
            f"坐标系 {crs.name} 的适用范围 (经度 {aou.west:.1f}..{aou.east:.1f}) 不包含数据范围 "
            f"(经度 {west:.3f}..{east:.3f}); 请选择数据所在分带 "
            f"(the CRS's area of use does not contain the data)"
        )
    return crs
