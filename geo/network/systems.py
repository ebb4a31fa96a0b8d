"""Which coordinate system a ledger's degrees are in, judged against the project's own streets.

Points picked in Amap or Tencent maps are GCJ-02, in Baidu maps BD-09, from a GPS or a
national map WGS84/CGCS2000; a ledger rarely says which.  Read in the wrong system the points
move 100-700 m (GCJ-02) or up to 1.2 km (BD-09), and coverage figures with them.  Facilities
and compounds stand beside walkable streets, so each reading is judged by how far it puts the
points from the walk network: the reading whose points lie nearest, for most points and by a
clear margin, wins.  When the evidence is not clear (few points, a dense street grid where any
shift lands near some street), :func:`detect_system` says so and the caller asks the planner.

Outside China's box the three readings coincide (GCJ-02 is not applied abroad) and WGS84 is
returned without evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import CRSError, InputDataError
from geo.io.coords import SYSTEMS, in_china, to_wgs84
from geo.io.crs import WGS84, metric_crs, to_crs
from geo.io.ledger import LedgerTable, RowIssue, drop_rows
from geo.io.uploads import STUDY_AREA_MAX_DIST_M, check_area_of_use
from geo.network.graph import WalkNetwork

__all__ = [
    "CANDIDATE_SYSTEMS",
    "MIN_MARGIN_RATIO",
    "MIN_POINTS",
    "MIN_WIN_SHARE",
    "SystemEvidence",
    "SystemUnclearError",
    "detect_system",
    "locate_ledger",
    "locate_table",
    "resolve_system",
]

#: The readings compared.
CANDIDATE_SYSTEMS = ("wgs84", "gcj02", "bd09")
SYSTEM_ZH = {"wgs84": "WGS84/CGCS2000", "gcj02": "GCJ-02（高德/腾讯）", "bd09": "BD-09（百度）"}
#: Fewer points than this never make a clear case.
MIN_POINTS = 3
#: The winner's median distance times this must not exceed the runner-up's.
MIN_MARGIN_RATIO = 1.5
#: ... and at least this share of the points must lie nearest to a street in the winning reading.
MIN_WIN_SHARE = 0.6
#: Points farther than this from every street in every reading are outside the network (not evidence).
OUTSIDE_NETWORK_M = 3000.0
#: Readings closer than this (m) to each other are the same reading (outside China).
SAME_READING_M = 1.0


@dataclass(frozen=True)
class SystemEvidence:
    """How far each reading puts the points from the walk network.

    Attributes
    ----------
    system
        The reading with the nearest points (``wgs84``, ``gcj02``, ``bd09``).
    clear
        Whether the evidence is clear (enough points, a clear margin, most points agree).
    median_m
        Median distance (m) from the points to the nearest walkable street, per reading.
    win_share
        Share of the points that lie nearest to a street in each reading.
    n_points
        Points used as evidence (within :data:`OUTSIDE_NETWORK_M` of the network).
    """

    system: str
    clear: bool
    median_m: dict[str, float]
    win_share: dict[str, float]
    n_points: int

    def text(self) -> str:
        """The evidence in one Chinese line (for the report and messages)."""
        if not self.median_m:
            return "点位在中国境外，各坐标系读法相同，按 WGS84 读入"
        ranked = sorted(self.median_m, key=self.median_m.__getitem__)
        parts = "，".join(
            f"{SYSTEM_ZH[s]} 中位距离 {self.median_m[s]:.0f} m（{self.win_share[s]:.0%} 的点最近）" for s in ranked
        )
        return f"{self.n_points} 个点到步行路网的距离：{parts}"


class SystemUnclearError(InputDataError):
    """The streets do not tell which coordinate system a ledger is in: the planner must say."""

    def __init__(self, message: str, evidence: SystemEvidence):
        super().__init__(message)
        self.evidence = evidence
        self.payload = {
            "ask": "system",
            "evidence": {
                "median_m": {k: round(v, 1) for k, v in evidence.median_m.items() if np.isfinite(v)},
                "win_share": {k: round(v, 3) for k, v in evidence.win_share.items()},
                "n_points": evidence.n_points,
                "text": evidence.text() if evidence.median_m else "",
            },
        }


def _distances(lon: np.ndarray, lat: np.ndarray, system: str, network: WalkNetwork, tree) -> np.ndarray:
    x, y = to_wgs84(lon, lat, system)
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=WGS84).to_crs(network.crs).to_numpy()
    _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    return np.asarray(dist, dtype=float)


def detect_system(lon, lat, network: WalkNetwork) -> SystemEvidence:
    """Judge WGS84 vs GCJ-02 vs BD-09 by the distance of the points to the walk network.

    Parameters
    ----------
    lon, lat
        Degrees as written in the ledger.
    network
        The project's walk network.

    Returns
    -------
    SystemEvidence
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    if not in_china(lon, lat).any() or network.n_edges == 0:
        return SystemEvidence("wgs84", True, {}, {}, int(lon.size))
    tree = shapely.STRtree(network.edge_geometry)
    dist = np.column_stack([_distances(lon, lat, s, network, tree) for s in CANDIDATE_SYSTEMS])
    inside = dist.min(axis=1) <= OUTSIDE_NETWORK_M
    dist = dist[inside]
    n = int(dist.shape[0])
    if n == 0:
        median = dict.fromkeys(CANDIDATE_SYSTEMS, float("inf"))
        return SystemEvidence("wgs84", False, median, dict.fromkeys(CANDIDATE_SYSTEMS, 0.0), 0)
    median = {s: float(np.median(dist[:, k])) for k, s in enumerate(CANDIDATE_SYSTEMS)}
    nearest = dist.argmin(axis=1)
    share = {s: float(np.mean(nearest == k)) for k, s in enumerate(CANDIDATE_SYSTEMS)}
    ranked = sorted(CANDIDATE_SYSTEMS, key=median.__getitem__)
    best, second = ranked[0], ranked[1]
    clear = (
        n >= MIN_POINTS
        and median[second] >= MIN_MARGIN_RATIO * median[best]
        and median[second] - median[best] >= 10.0
        and share[best] >= MIN_WIN_SHARE
    )
    return SystemEvidence(best, bool(clear), median, share, n)


def resolve_system(
    lon, lat, declared: str | None, network: WalkNetwork | None, *, name: str
) -> tuple[str, str, list[str]]:
    """The system to read a ledger's degrees in: ``(system, note for the assumptions, warnings)``.

    ``declared`` ``None`` or ``"auto"``: detected against ``network`` and used when clear, else
    :class:`SystemUnclearError` naming the candidates and their distances.  A declared system is
    used as declared; when the streets clearly favour another, a warning says so.

    Raises
    ------
    SystemUnclearError
        Undeclared and the evidence is not clear (or there is no network to judge by).
    InputDataError
        An unknown declared system.
    """
    key = None if declared is None else str(declared).strip().lower().replace("-", "").replace("_", "")
    if key in (None, "", "auto"):
        lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if not in_china(lon_a, lat_a).any():
            return "wgs84", "点位在中国境外，各坐标系读法相同，按 WGS84 读入", []
        if network is None:
            raise SystemUnclearError(
                f"{name} 没有声明坐标系，且没有路网可供判断；请注明坐标系（wgs84 / gcj02 高德腾讯 / bd09 百度） "
                f"(coordinate system not declared and no network to detect it)",
                SystemEvidence("wgs84", False, {}, {}, 0),
            )
        evidence = detect_system(lon, lat, network)
        if not evidence.clear:
            raise SystemUnclearError(
                f"无法判断 {name} 的坐标系：{evidence.text()}；差别不明显，请注明坐标系"
                f"（wgs84 / gcj02 高德腾讯拾取 / bd09 百度拾取） (coordinate system unclear: please declare it)",
                evidence,
            )
        if not evidence.median_m:
            return "wgs84", evidence.text(), []
        return evidence.system, f"坐标系按路网判定为 {SYSTEM_ZH[evidence.system]}：{evidence.text()}", []
    if key not in SYSTEMS:
        return str(declared), f"坐标系按声明: {declared}", []
    system = "wgs84" if key == "cgcs2000" else key
    note = f"坐标系按声明: {SYSTEMS[key]}"
    warnings: list[str] = []
    if network is not None:
        evidence = detect_system(lon, lat, network)
        if evidence.median_m and evidence.clear and evidence.system != system:
            warnings.append(
                f"{name} 声明的坐标系为 {SYSTEMS[key]}，但路网显示更可能是 {SYSTEM_ZH[evidence.system]}"
                f"（{evidence.text()}）；请核对"
            )
    return system, note, warnings


def locate_ledger(
    ledger: LedgerTable,
    system: str | None,
    network: WalkNetwork | None,
    *,
    study_area: shapely.Geometry | None = None,
) -> tuple[LedgerTable, gpd.GeoSeries]:
    """The ledger's rows as WGS84 points, its coordinate system resolved (and noted in its report).

    Rows outside lon/lat ranges, or farther than :data:`geo.io.uploads.STUDY_AREA_MAX_DIST_M` from
    the study area, are reported and left out; when most rows are, the whole file is refused
    (a wrong system or swapped columns, not a few typing slips).

    Parameters
    ----------
    ledger
        From :func:`geo.io.ledger.read_ledger` (degrees in the file's system).
    system
        Declared system (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``, an EPSG code of X/Y in
        metres) or ``None``/``"auto"`` to detect it against ``network``.
    network
        The project's walk network (for detection), or ``None``.
    study_area
        Optional WGS84 polygon the rows must lie near.

    Raises
    ------
    SystemUnclearError
        Undeclared system and no clear evidence.
    CRSError
        Most rows out of range (swapped columns?) or far from the study area.
    """
    report, rows = ledger.report, ledger.rows
    name = report.file
    lon, lat = rows["lon"].to_numpy(float), rows["lat"].to_numpy(float)
    key = None if system is None else str(system).strip().lower().replace("-", "").replace("_", "")
    if key not in (None, "", "auto") and key not in SYSTEMS:
        try:
            crs = to_crs(system)
        except CRSError as exc:
            raise InputDataError(
                f"坐标系 {system!r} 无效，可选: {', '.join(SYSTEMS)} 或 EPSG 代码（如 4549） "
                f"(unknown coordinate system; allowed: {', '.join(SYSTEMS)} or an EPSG code)"
            ) from exc
        frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=crs)
        points = check_area_of_use(frame, name).geometry
        report.system, report.system_note = crs.to_string(), f"坐标按声明的 {crs.name} 读入"
        return _near_study_area(ledger, points, study_area)
    fits = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if not fits.all():
        lon_col = report.columns.get("lon", report.columns.get("pair", "经度"))
        lat_col = report.columns.get("lat", report.columns.get("pair", "纬度"))
        swapped = (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
        if swapped[~fits].all() and (~fits).sum() * 2 > len(fits):
            raise CRSError(
                f"{name} 的坐标可能颠倒：列 {lon_col!r} 像纬度、列 {lat_col!r} 像经度，请交换两列 "
                f"(坐标可能颠倒 / longitude and latitude look swapped)"
            )
        issues = [
            RowIssue(
                int(rows["line"].iloc[k]), lon_col, f"{lon[k]:g}, {lat[k]:g}", "超出经纬度范围 (out of lon/lat range)"
            )
            for k in np.flatnonzero(~fits)
        ]
        if len(issues) == len(fits):
            raise InputDataError(
                f"{name} 的坐标都超出经纬度范围；若为投影坐标（米），请注明坐标系的 EPSG 代码（如 4549） "
                f"(coordinates out of range: give the EPSG code of projected X/Y)"
            )
        ledger = drop_rows(ledger, fits, issues)
        report, rows = ledger.report, ledger.rows
        lon, lat = lon[fits], lat[fits]
    chosen, note, warnings = resolve_system(lon, lat, system, network, name=name)
    report.system, report.system_note = chosen, note
    report.warnings.extend(warnings)
    x, y = to_wgs84(lon, lat, chosen)
    return _near_study_area(ledger, gpd.GeoSeries(gpd.points_from_xy(x, y), crs=WGS84), study_area)


def _near_study_area(
    ledger: LedgerTable, points: gpd.GeoSeries, study_area: shapely.Geometry | None
) -> tuple[LedgerTable, gpd.GeoSeries]:
    if study_area is None:
        return ledger, points.reset_index(drop=True)
    c = shapely.centroid(study_area)
    crs = metric_crs(np.array([c.x]), np.array([c.y]))
    area_m = gpd.GeoSeries([study_area], crs=WGS84).to_crs(crs).iloc[0]
    dist_m = shapely.distance(points.to_crs(crs).to_numpy(), area_m)
    far = ~(dist_m <= STUDY_AREA_MAX_DIST_M)
    if not far.any():
        return ledger, points.reset_index(drop=True)
    name = ledger.report.file
    if far.sum() * 2 > len(far):
        i = int(np.flatnonzero(far)[0])
        raise CRSError(
            f"{name} 中 {int(far.sum())} 个点（共 {len(far)} 个）距研究区超过 {STUDY_AREA_MAX_DIST_M / 1000:.0f} km"
            f"（第 {int(ledger.rows['line'].iloc[i])} 行 {dist_m[i] / 1000:.0f} km）；坐标系可能选错或坐标可能颠倒 "
            f"(points far from the study area: wrong CRS or swapped axes?)"
        )
    column = ledger.report.columns.get("lon", ledger.report.columns.get("pair", "经度"))
    issues = [
        RowIssue(
            int(ledger.rows["line"].iloc[k]),
            column,
            "",
            f"距研究区 {dist_m[k] / 1000:.0f} km，超过 {STUDY_AREA_MAX_DIST_M / 1000:.0f} km (far from the study area)",
        )
        for k in np.flatnonzero(far)
    ]
    return drop_rows(ledger, ~far, issues), points[~far].reset_index(drop=True)


def locate_table(frame: gpd.GeoDataFrame, network: WalkNetwork | None, *, name: str) -> gpd.GeoDataFrame:
    """A table read as WGS84 degrees whose system was not declared, in its detected system.

    For :func:`geo.io.uploads.read_upload` results of CSV/XLSX/XLS read with ``system="wgs84"``:
    the degrees are judged against ``network`` (:func:`resolve_system`) and converted; the
    decision goes into ``attrs["source_crs"]``.  Other kinds (GeoJSON, Shapefile ...) carry
    their own CRS and are returned as they are.

    Raises
    ------
    SystemUnclearError
        The streets do not decide (or no network inside China).
    """
    if frame.attrs.get("kind") not in ("csv", "xlsx", "xls"):
        return frame
    xy = shapely.get_coordinates(frame.geometry.to_numpy())
    system, note, _ = resolve_system(xy[:, 0], xy[:, 1], None, network, name=name)
    x, y = to_wgs84(xy[:, 0], xy[:, 1], system)
    out = frame.set_geometry(gpd.points_from_xy(x, y), crs=WGS84)
    out.attrs.update(frame.attrs)
    out.attrs["source_crs"] = note
    return out
