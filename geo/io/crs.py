"""Coordinate reference systems: choosing the metric CRS of a study area, checks.

Inside the core everything is metric (metres) in a projected CRS; WGS84 longitude /
latitude only at the edges.  A planner may ask for a specific projected CRS, for
example a CGCS2000 3-degree Gauss-Kruger zone (EPSG:4549 "CM 120E" without the zone
prefix in the easting, EPSG:4528 with it); otherwise the UTM zone of the data is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import CRSError, InputDataError

__all__ = [
    "CGCS2000",
    "CGCS2000_ASSUMPTION_ZH",
    "DEFAULT_EXPORT_CRS",
    "EXPORT_CRS_CHOICES",
    "WGS84",
    "ExportCRS",
    "check_lonlat",
    "export_crs",
    "gk3_zone",
    "metric_crs",
    "parse_export_crs",
    "to_crs",
]

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


# ------------------------------------------------------------ export coordinate systems
# (issue 21: deliverables in CGCS2000 as well as WGS84)

#: EPSG:4490, CGCS2000 longitude/latitude (the national maps' geographic system).
CGCS2000 = CRS.from_epsg(4490)
#: 3-degree Gauss-Kruger zones of CGCS2000: zone ``n`` has its central meridian at ``3n``
#: degrees E.  EPSG numbers the zones 25-45 (75E-135E) twice: 4513-4533 "zone n" with the
#: zone number prefixed to the easting (40 500 000 m at CM 120E), 4534-4554 "CM nE" without it.
GK3_FIRST_ZONE, GK3_LAST_ZONE = 25, 45
GK3_EPSG_WITH_PREFIX = 4513
GK3_EPSG_NO_PREFIX = 4534
#: The export coordinate systems a planner chooses from (web export menu, scripts' ``--crs``).
EXPORT_CRS_CHOICES = {
    "wgs84": "WGS84 经纬度 (EPSG:4326)",
    "cgcs2000": "CGCS2000 经纬度 (EPSG:4490)",
    "cgcs2000_gk": "CGCS2000 高斯-克吕格 3 度带，东坐标不含带号 (EPSG:4534-4554, 例 4549)",
    "cgcs2000_gk_zone": "CGCS2000 高斯-克吕格 3 度带，东坐标含带号 (EPSG:4513-4533, 例 4528)",
}
DEFAULT_EXPORT_CRS = "wgs84"
#: The assumption every CGCS2000 export states (docs: /work/shared/DATA.md "practically WGS84
#: at map scale"; PROJ has no published WGS84 -> CGCS2000 transformation, only a ballpark no-op).
CGCS2000_ASSUMPTION_ZH = (
    "WGS84 与 CGCS2000 按地图精度视为相同：坐标未作基准转换，仅更换坐标系名称（两者差异在厘米至分米级，"
    "PROJ 无公布的转换参数）(WGS84 and CGCS2000 treated as identical at map accuracy; no datum shift applied)"
)


@dataclass(frozen=True)
class ExportCRS:
    """The coordinate system of one export and how it is explained to the planner.

    Attributes
    ----------
    choice
        One of :data:`EXPORT_CRS_CHOICES`.
    crs
        The pyproj CRS the file is written in.
    note_zh
        The sentence(s) naming the CRS for the file's notes: name, EPSG, for a
        Gauss-Kruger zone its central meridian and whether the easting carries the zone
        number, and for CGCS2000 the WGS84 assumption.
    zone
        Gauss-Kruger zone number (``40`` for CM 120E), or ``None``.
    """

    choice: str
    crs: CRS
    note_zh: str
    zone: int | None = None

    @property
    def epsg(self) -> int:
        """The EPSG code."""
        return int(self.crs.to_epsg() or 0)

    @property
    def label(self) -> str:
        """``CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549)``."""
        return f"{self.crs.name} (EPSG:{self.epsg})"

    @property
    def is_projected(self) -> bool:
        """Whether coordinates are metres (a Gauss-Kruger zone) rather than degrees."""
        return bool(self.crs.is_projected)

    @property
    def is_cgcs2000(self) -> bool:
        """Whether the file is in CGCS2000 (and so carries the WGS84 assumption)."""
        return self.choice != "wgs84"


def gk3_zone(lon_deg: float) -> int:
    """The CGCS2000 3-degree Gauss-Kruger zone of a longitude (degrees E): ``round(lon / 3)``.

    Raises
    ------
    CRSError
        Outside China's zones 25-45 (73.5E-136.5E).
    """
    zone = math.floor(lon_deg / 3.0 + 0.5)
    if not (GK3_FIRST_ZONE <= zone <= GK3_LAST_ZONE):
        raise CRSError(
            f"经度 {lon_deg:.3f} 不在 CGCS2000 3 度带范围 (73.5-136.5E) 内，无法导出高斯-克吕格坐标；"
            f"请选择 wgs84 或 cgcs2000 (longitude outside China's 3-degree zones)"
        )
    return zone


def _gk3_note(zone: int, prefixed: bool, epsg: int) -> str:
    cm = 3 * zone
    if prefixed:
        easting = f"东坐标含带号 {zone}（中央子午线处为 {zone}500000 米）"
    else:
        easting = "东坐标不含带号（中央子午线处为 500000 米，加常数 500 km）"
    return (
        f"坐标系: CGCS2000 3 度带高斯-克吕格投影 第 {zone} 带，中央子午线 {cm}°E (EPSG:{epsg})；{easting}；"
        f"单位米，测量习惯中 X 为北坐标、Y 为东坐标（本文件的几何为 东, 北 顺序）"
    )


def parse_export_crs(choice: object) -> tuple[str, int | None]:
    """The export choice (a key of :data:`EXPORT_CRS_CHOICES`) and the EPSG code if one was given.

    Raises
    ------
    CRSError
        An unknown choice; the message lists the choices.
    """
    if choice is None or (isinstance(choice, str) and not choice.strip()):
        choice = DEFAULT_EXPORT_CRS
    key = str(choice).strip().lower().replace("-", "_")
    if key in EXPORT_CRS_CHOICES:
        return key, None
    code = key.removeprefix("epsg:")
    epsg = int(code) if code.isascii() and code.isdigit() and len(code) <= 6 else None
    if epsg == 4326:
        return "wgs84", None
    if epsg == 4490:
        return "cgcs2000", None
    if epsg is not None and GK3_EPSG_WITH_PREFIX <= epsg < GK3_EPSG_WITH_PREFIX + 21:
        return "cgcs2000_gk_zone", epsg
    if epsg is not None and GK3_EPSG_NO_PREFIX <= epsg < GK3_EPSG_NO_PREFIX + 21:
        return "cgcs2000_gk", epsg
    raise CRSError(
        f"导出坐标系 {str(choice)[:40]!r} 无效，可选: {', '.join(EXPORT_CRS_CHOICES)}，或 EPSG 代码 "
        f"4326、4490、4513-4554 (unknown export CRS; choose one of {', '.join(EXPORT_CRS_CHOICES)})"
    )


def export_crs(choice: object, *, lon: object, lat: object) -> ExportCRS:
    """The export coordinate system a planner chose, for data at ``lon``/``lat`` (WGS84 degrees).

    Parameters
    ----------
    choice
        ``None`` (:data:`DEFAULT_EXPORT_CRS`), a key of :data:`EXPORT_CRS_CHOICES`, or an EPSG
        code (``4326``, ``4490``, ``"EPSG:4549"``, any CGCS2000 3-degree zone 4513-4554).
    lon, lat
        Coordinates of the data in WGS84 degrees (best: the study area's centroid); the
        Gauss-Kruger zone is the one of their centre (the midpoint of their bounds).

    Returns
    -------
    ExportCRS

    Raises
    ------
    CRSError
        An unknown choice (the message lists the choices), or an explicit zone whose
        central meridian is not the data's (it would distort the data by more than the
        zone is meant to).
    """
    key, epsg = parse_export_crs(choice)
    if key == "wgs84":
        return ExportCRS("wgs84", WGS84, "坐标系: WGS84 经纬度 (EPSG:4326)，单位度")
    if key == "cgcs2000":
        return ExportCRS("cgcs2000", CGCS2000, f"坐标系: CGCS2000 经纬度 (EPSG:4490)，单位度；{CGCS2000_ASSUMPTION_ZH}")
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if not finite.any():
        raise InputDataError("没有坐标，无法选择高斯-克吕格分带 (no coordinates to choose a zone for)")
    lon_c = (float(lon[finite].min()) + float(lon[finite].max())) / 2.0
    zone = gk3_zone(lon_c)
    prefixed = key == "cgcs2000_gk_zone"
    wanted = (GK3_EPSG_WITH_PREFIX if prefixed else GK3_EPSG_NO_PREFIX) + zone - GK3_FIRST_ZONE
    if epsg is not None and epsg != wanted:
        asked = epsg - (GK3_EPSG_WITH_PREFIX if prefixed else GK3_EPSG_NO_PREFIX) + GK3_FIRST_ZONE
        raise CRSError(
            f"EPSG:{epsg} 是第 {asked} 带（中央子午线 {3 * asked}°E），数据中心经度 {lon_c:.2f}°E 属第 {zone} 带"
            f"（{3 * zone}°E），应为 EPSG:{wanted} (the zone does not contain the data; use EPSG:{wanted})"
        )
    note = f"{_gk3_note(zone, prefixed, wanted)}；{CGCS2000_ASSUMPTION_ZH}"
    return ExportCRS(key, CRS.from_epsg(wanted), note, zone)
