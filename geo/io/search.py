"""Search and go to: a place of the project by name or code, or a typed coordinate, offline.

The index is built once from the loaded project's own data — facilities (name, function,
type), named demand points (compounds of a ledger, named buildings), the communities a ledger
names, the area units of every level (town / community / grid: code and name) and the streets
by name — and answers a planner's query from memory; nothing leaves the machine.

Matching is on a normalised text (NFKC, so full-width letters and digits match their ASCII
forms; case-folded; white space removed): an exact match ranks first, then a prefix, then a
substring of the name, then a substring of what the place is (a facility's function or type).
Codes match exactly or by prefix only (``350521`` finds every unit under Hui'an).

A query that is a coordinate pair — ``118.95, 25.03``, ``25.03 118.95``, ``25.03，118.95``,
``118°57'00"E 25°01'48"N`` — is read as a WGS84 point by :mod:`geo.io.typed_coords` (from
WGS84/CGCS2000 or GCJ-02), flagged when outside the study area.  Two numbers that are no
coordinate in either order (``200, 100``) raise :class:`~geo.errors.InputDataError`; any other
text that is not a coordinate is a name query (no result when nothing matches).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.io.typed_coords import SEARCH_SYSTEMS, Coordinate, parse_coordinate

if TYPE_CHECKING:
    from geo.project import Project

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_QUERY_CHARS",
    "SEARCH_SYSTEMS",
    "Coordinate",
    "Place",
    "SearchAnswer",
    "SearchIndex",
    "build_search_index",
    "normalise",
    "parse_coordinate",
    "project_search_index",
]

#: Longest query accepted (characters): a name or a coordinate is far shorter.
MAX_QUERY_CHARS = 100
#: Results returned by default, and at most.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: Smallest half-width of a ledger community's box (metres, ~ a few blocks): one compound
#: alone would otherwise give a box of zero size.
MIN_AREA_HALF_WIDTH_M = 150.0
_METRES_PER_DEGREE = 111_320.0

#: Kinds of place, their Chinese and English words, and their order among equal matches.
KIND_ZH = {
    "town": "镇街",
    "community": "社区",
    "grid": "网格",
    "facility": "设施",
    "compound": "小区",
    "building": "建筑",
    "street": "道路",
}
KIND_EN = {
    "town": "Town",
    "community": "Community",
    "grid": "Grid",
    "facility": "Facility",
    "compound": "Compound",
    "building": "Building",
    "street": "Street",
}
_KIND_ORDER = {kind: k for k, kind in enumerate(KIND_ZH)}


def normalise(text: object) -> str:
    """A text as it is matched: NFKC (full-width to ASCII), case-folded, without white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)).casefold())


@dataclass(frozen=True)
class Place:
    """One place the search can go to (WGS84 degrees).

    Attributes
    ----------
    kind
        ``town``, ``community``, ``grid``, ``facility``, ``compound``, ``building`` or ``street``.
    name
        The name as the data has it.
    label_zh, label_en
        What it is, short: ``设施 · 病有所医 · 卫生服务站``, ``社区 · 350521100001``.
    lon, lat
        A point of it (a facility's location; an area's representative point), WGS84.
    bounds
        ``(west, south, east, north)`` of an area or street (WGS84), ``None`` for a point.
    code
        The unit code of an area unit, else ``""``.
    """

    kind: str
    name: str
    label_zh: str
    label_en: str
    lon: float
    lat: float
    bounds: tuple[float, float, float, float] | None = None
    code: str = ""

    def to_dict(self) -> dict:
        """JSON-ready, coordinates to 1e-7 degree (~1 cm)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "label": self.label_zh,
            "label_en": self.label_en,
            "code": self.code,
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "bounds": [round(v, 7) for v in self.bounds] if self.bounds is not None else None,
        }


@dataclass(frozen=True)
class SearchAnswer:
    """The places matching a query (best first) and the coordinate it is, if any."""

    results: list[Place]
    coordinate: Coordinate | None

    def to_dict(self) -> dict:
        """JSON-ready: ``{"results": [...], "coordinate": {...} | None}``."""
        return {
            "results": [p.to_dict() for p in self.results],
            "coordinate": self.coordinate.to_dict() if self.coordinate is not None else None,
        }


# ------------------------------------------------------------------------------ index


@dataclass(frozen=True)
class _Entry:
    place: Place
    names: tuple[str, ...]  # normalised names (exact / prefix / substring)
    about: str  # normalised function, type, community: substring matches rank last
    code: str  # normalised code: exact or prefix only


@dataclass
class SearchIndex:
    """The places of one project, searchable by name or code (built by :func:`build_search_index`)."""

    entries: list[_Entry] = field(default_factory=list)
    study_area_wgs84: shapely.Geometry | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def kinds(self) -> dict[str, int]:
        """How many places of each kind the index holds."""
        out: dict[str, int] = {}
        for entry in self.entries:
            out[entry.place.kind] = out.get(entry.place.kind, 0) + 1
        return out

    def search(self, query: str, *, system: str = "wgs84", limit: int = DEFAULT_LIMIT) -> SearchAnswer:
        """The places matching ``query`` (best first, at most ``limit``) and the coordinate it is.

        Parameters
        ----------
        query
            A name, part of a name, a code or a coordinate (see :func:`parse_coordinate`).
        system
            The coordinate system of a typed coordinate: ``wgs84`` or ``gcj02``.
        limit
            Most places returned (1-100).

        Raises
        ------
        InputDataError
            Empty query, a query over :data:`MAX_QUERY_CHARS` characters, unknown ``system``,
            ``limit`` out of range, two numbers that are no coordinate.
        """
        if not isinstance(query, str) or not query.strip():
            raise InputDataError("请输入要查找的名称、编码或坐标 (the query is empty)")
        if len(query) > MAX_QUERY_CHARS:
            raise InputDataError(
                f"查找内容过长：{len(query)} 字，最多 {MAX_QUERY_CHARS} 字 "
                f"(query longer than {MAX_QUERY_CHARS} characters)"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InputDataError(f"limit 应为 1-{MAX_LIMIT} 的整数 (limit must be an integer 1-{MAX_LIMIT})")
        coordinate = parse_coordinate(query, system=system, study_area_wgs84=self.study_area_wgs84)
        if coordinate is not None:
            return SearchAnswer(results=[], coordinate=coordinate)
        key = normalise(query)
        ranked = []
        for k, entry in enumerate(self.entries):
            rank = _rank(entry, key)
            if rank is not None:
                ranked.append((rank, _KIND_ORDER.get(entry.place.kind, 99), len(entry.place.name), k))
        ranked.sort()
        return SearchAnswer(results=[self.entries[r[-1]].place for r in ranked[:limit]], coordinate=None)


def _rank(entry: _Entry, key: str) -> int | None:
    """0 exact name or code, 1 prefix, 2 substring of a name, 3 of what it is; ``None``: no match."""
    if entry.code and entry.code == key:
        return 0
    best = None
    for name in entry.names:
        if name == key:
            return 0
        if name.startswith(key):
            best = 1
        elif best is None and key in name:
            best = 2
    if best is not None:
        return best
    if entry.code and entry.code.startswith(key):
        return 1
    if key in entry.about:
        return 3
    return None


def _text(value: object) -> str:
    """A data value as text: ``""`` for missing values (None, NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _column(frame: gpd.GeoDataFrame, name: str) -> list[str]:
    if name not in frame.columns:
        return [""] * len(frame)
    return [_text(v) for v in frame[name].tolist()]


def _points_wgs84(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of each feature's representative point (WGS84)."""
    geoms = frame.geometry.to_crs(WGS84) if frame.crs is not None else frame.geometry
    points = shapely.point_on_surface(geoms.to_numpy())
    return shapely.get_x(points), shapely.get_y(points)


def _facility_places(facilities: gpd.GeoDataFrame) -> list[_Entry]:
    """One place per facility site: a ledger's row per function comes together (functions joined)."""
    if facilities.empty:
        return []
    lon, lat = _points_wgs84(facilities)
    names, functions_zh, functions = (
        _column(facilities, "name"),
        _column(facilities, "function_zh"),
        _column(facilities, "function"),
    )
    types_zh, types = _column(facilities, "type_zh"), _column(facilities, "type")
    categories = _column(facilities, "category")
    sites: dict[tuple, dict] = {}
    for k in range(len(facilities)):
        if not names[k]:
            continue
        key = (names[k], round(float(lon[k]), 5), round(float(lat[k]), 5))  # ~1 m apart: the same site
        site = sites.setdefault(key, {"k": k, "zh": [], "en": [], "type_zh": [], "type_en": []})
        for part, value in (("zh", functions_zh[k]), ("en", functions[k])):
            if value and value not in site[part]:
                site[part].append(value)
        type_en = (types[k] or categories[k]).replace("_", " ")  # convenience_store -> convenience store
        for part, value in (("type_zh", types_zh[k] or categories[k]), ("type_en", type_en)):
            if value and value not in site[part]:
                site[part].append(value)
    out = []
    for (name, _, _), site in sites.items():
        k = site["k"]
        zh = " · ".join(p for p in ("设施", "、".join(site["zh"]), "、".join(site["type_zh"])) if p)
        en = " · ".join(p for p in ("Facility", ", ".join(site["en"]), ", ".join(site["type_en"])) if p)
        place = Place("facility", name, zh, en, float(lon[k]), float(lat[k]))
        about = normalise(" ".join([*site["zh"], *site["en"], *site["type_zh"], *site["type_en"]]))
        out.append(_Entry(place, (normalise(name),), about, ""))
    return out


def _demand_places(demand: gpd.GeoDataFrame) -> list[_Entry]:
    """Named demand points: a ledger's compounds, or named residential buildings."""
    if demand.empty or "name" not in demand.columns:
        return []
    lon, lat = _points_wgs84(demand)
    names, communities, sources = _column(demand, "name"), _column(demand, "community"), _column(demand, "source")
    out = []
    for k, name in enumerate(names):
        if not name:
            continue
        kind = "building" if sources[k] == "buildings" else "compound"
        zh = " · ".join(p for p in (KIND_ZH[kind], communities[k]) if p)
        en = " · ".join(p for p in (KIND_EN[kind], communities[k]) if p)
        place = Place(kind, name, zh, en, float(lon[k]), float(lat[k]))
        out.append(_Entry(place, (normalise(name),), normalise(communities[k]), ""))
    return out


def _box_around(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float, float, float]:
    """The box of points (WGS84), at least :data:`MIN_AREA_HALF_WIDTH_M` each way from its middle."""
    mid_lat = float(np.mean(lat))
    half_lat = MIN_AREA_HALF_WIDTH_M / _METRES_PER_DEGREE
    half_lon = half_lat / max(math.cos(math.radians(mid_lat)), 0.01)
    west, east = float(np.min(lon)), float(np.max(lon))
    south, north = float(np.min(lat)), float(np.max(lat))
    mid_lon = (west + east) / 2
    mid = (south + north) / 2
    return (
        min(west, mid_lon - half_lon),
        min(south, mid - half_lat),
        max(east, mid_lon + half_lon),
        max(north, mid + half_lat),
    )


def _ledger_communities(frames: list[gpd.GeoDataFrame], unit_names: set[str]) -> list[_Entry]:
    """The communities a ledger names (its 所属社区 column) not already an area unit: their members' box."""
    members: dict[str, list[tuple[float, float]]] = {}
    for frame in frames:
        if frame.empty or "community" not in frame.columns:
            continue
        lon, lat = _points_wgs84(frame)
        for k, name in enumerate(_column(frame, "community")):
            if name and normalise(name) not in unit_names:
                members.setdefault(name, []).append((float(lon[k]), float(lat[k])))
    out = []
    for name, points in members.items():
        xy = np.asarray(points)
        bounds = _box_around(xy[:, 0], xy[:, 1])
        place = Place(
            "community",
            name,
            "社区 · 台账所属社区",
            "Community · from the ledgers",
            float(np.mean(xy[:, 0])),
            float(np.mean(xy[:, 1])),
            bounds,
        )
        out.append(_Entry(place, (normalise(name),), "", ""))
    return out


def _unit_places(units: Mapping[str, gpd.GeoDataFrame]) -> list[_Entry]:
    """Area units of every level: code and name, their box and representative point."""
    out = []
    for level, frame in units.items():
        if frame.empty:
            continue
        kind = level if level in KIND_ZH else "community"
        wgs = frame.to_crs(WGS84) if frame.crs is not None else frame
        lon, lat = _points_wgs84(wgs)
        bounds = shapely.bounds(wgs.geometry.to_numpy())
        codes, names = _column(wgs, "code"), _column(wgs, "name")
        for k in range(len(wgs)):
            name = names[k] or codes[k]
            place = Place(
                kind,
                name,
                f"{KIND_ZH[kind]} · {codes[k]}" if codes[k] else KIND_ZH[kind],
                f"{KIND_EN[kind]} · {codes[k]}" if codes[k] else KIND_EN[kind],
                float(lon[k]),
                float(lat[k]),
                tuple(float(v) for v in bounds[k]),  # type: ignore[arg-type]
                codes[k],
            )
            # A unit without a name (read_units puts the code there) goes by its code alone:
            # exact or prefix, never a piece of it.
            named = bool(names[k]) and names[k] != codes[k]
            out.append(_Entry(place, (normalise(names[k]),) if named else (), "", normalise(codes[k])))
    return out


def _street_places(edge_name: np.ndarray, edge_geometry: np.ndarray, crs: object) -> list[_Entry]:
    """One place per street name: the box of its edges and the middle of its longest edge."""
    names = np.asarray(edge_name, dtype=object)
    named = np.flatnonzero([bool(_text(n)) for n in names])
    if not len(named):
        return []
    geoms = gpd.GeoSeries(np.asarray(edge_geometry, dtype=object)[named], crs=crs)
    lengths = geoms.length.to_numpy()
    wgs = geoms.to_crs(WGS84).to_numpy() if crs is not None else geoms.to_numpy()
    bounds = shapely.bounds(wgs)
    groups: dict[str, list[int]] = {}
    for j, k in enumerate(named):
        groups.setdefault(_text(names[k]), []).append(j)
    out = []
    for name, members in groups.items():
        idx = np.asarray(members)
        longest = idx[np.argmax(lengths[idx])]
        middle = shapely.line_interpolate_point(wgs[longest], 0.5, normalized=True)
        box = bounds[idx]
        place = Place(
            "street",
            name,
            KIND_ZH["street"],
            KIND_EN["street"],
            float(shapely.get_x(middle)),
            float(shapely.get_y(middle)),
            (float(box[:, 0].min()), float(box[:, 1].min()), float(box[:, 2].max()), float(box[:, 3].max())),
        )
        out.append(_Entry(place, (normalise(name),), "", ""))
    return out


def build_search_index(
    *,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    street_names: np.ndarray | None = None,
    street_geometry: np.ndarray | None = None,
    street_crs: object | None = None,
    study_area_wgs84: shapely.Geometry | None = None,
) -> SearchIndex:
    """The search index of a project's own data.

    Parameters
    ----------
    facilities
        Facilities (``name``, ``function``/``function_zh``, ``type``/``type_zh``), any CRS.
    demand
        Demand points; those with a ``name`` are searchable (``community`` is kept).
    units
        Area units by level (``town`` / ``community`` / ``grid``): ``code``, ``name``, any CRS.
    street_names, street_geometry, street_crs
        The walk network's edge names and geometries (in ``street_crs``): streets by name.
    study_area_wgs84
        The study area (WGS84): typed coordinates outside it are flagged.

    Raises
    ------
    InputDataError
        A frame without a coordinate reference system.
    """
    frames = [("facilities", facilities), ("demand", demand), *((f"units {k}", v) for k, v in (units or {}).items())]
    for what, frame in frames:
        if frame.crs is None and not frame.empty:
            raise InputDataError(f"{what} 没有坐标参考系 (frame has no CRS)")
    unit_entries = _unit_places(units or {})
    unit_names = {name for entry in unit_entries for name in entry.names}
    entries = [
        *unit_entries,
        *_facility_places(facilities),
        *_demand_places(demand),
        *_ledger_communities([demand, facilities], unit_names),
    ]
    if street_names is not None and street_geometry is not None:
        entries += _street_places(street_names, street_geometry, street_crs)
    index = SearchIndex(entries=entries, study_area_wgs84=study_area_wgs84)
    logger.info("search index: %s places %s", f"{len(index):,}", index.kinds())
    return index


def project_search_index(project: Project, *, study_area_wgs84: shapely.Geometry | None = None) -> SearchIndex:
    """The search index of a loaded project: its facilities, demand, area units and streets.

    Parameters
    ----------
    project
        The loaded project (every part in ``project.network.crs``).
    study_area_wgs84
        The study area (WGS84); by default the project's boundary, else the network's extent.
    """
    net = project.network
    if study_area_wgs84 is None:
        area = project.boundary if project.boundary is not None else shapely.box(*net.bounds)
        study_area_wgs84 = gpd.GeoSeries([area], crs=net.crs).to_crs(WGS84).iloc[0]
    return build_search_index(
        facilities=project.facilities,
        demand=project.demand,
        units=project.units,
        street_names=net.edge_name,
        street_geometry=net.edge_geometry,
        street_crs=net.crs,
        study_area_wgs84=study_area_wgs84,
    )
