"""The analyses of a study area: loading, coverage, service areas, candidate sites, placement, grids."""

from __future__ import annotations

import hashlib
import itertools
import logging
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.coverage import Accessibility, accessibility, apply_age_shares, assign_units
from geo.access.coverage_tables import coverage_table, gap_cells, scenario_delta
from geo.access.life_circle import life_circle_check
from geo.access.service_area import check_budgets, profile_note, reached_streets, service_areas
from geo.access.units import LEVEL_ZH, UNIT_LEVELS, read_units
from geo.errors import InputDataError
from geo.grids.blocks import street_blocks, units_from_polygons, units_with_households
from geo.grids.partition import generate_grids
from geo.grids.plan import GridPlan
from geo.io.crs import WGS84
from geo.network.graph import CostGraph
from geo.network.snapping import snap_points
from geo.placement.candidates import candidates_from_points, network_candidates, read_candidates
from geo.placement.centers import Placement, place_centers
from geo.project import Project, load_project

logger = logging.getLogger(__name__)

__all__ = [
    "CANDIDATE_SOURCES",
    "Analysis",
    "CandidateEffect",
    "CoverageResult",
    "FacilityAreas",
    "FunctionAreas",
    "analyse_coverage",
    "analysis_units",
    "candidate_rings",
    "check_standard",
    "evaluate_candidate",
    "facility_service_areas",
    "function_service_areas",
    "grid_units",
    "load_analysis",
    "placement_candidates",
    "plan_centres",
    "project_grids",
    "study_area",
    "study_area_wgs84",
]

#: Where candidate sites for new centres come from.
CANDIDATE_SOURCES = ("network", "facilities", "file", "plan", "both")


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True, eq=False)
class Analysis:
    """A loaded project with what every analysis of it starts from.

    Attributes
    ----------
    project
        The study area (network, facilities, demand, boundary, units).
    graph
        The routing graph of the project's travel profile.
    acc
        Walking times from every demand point to every function (``None`` when loaded
        without them).
    """

    project: Project
    graph: CostGraph
    acc: Accessibility | None = None

    @property
    def accessibility(self) -> Accessibility:
        """The walking times; :class:`InputDataError` when the analysis was loaded without them."""
        if self.acc is None:
            raise InputDataError("未计算可达时间 (loaded without walking times: load_analysis(..., times=True))")
        return self.acc


def study_area_wgs84(project: Project) -> shapely.Geometry | None:
    """The project's boundary in WGS84 (``None`` without a boundary), to check planners' files against."""
    if project.boundary is None:
        return None
    return gpd.GeoSeries([project.boundary], crs=project.network.crs).to_crs(WGS84).iloc[0]


def study_area(project: Project) -> shapely.Geometry:
    """The boundary, or the convex hull of the network where there is none (network CRS)."""
    if project.boundary is not None:
        return project.boundary
    lines = project.network.edges_gdf().geometry.to_numpy()
    return shapely.convex_hull(shapely.multilinestrings(shapely.get_parts(lines)))


def analysis_units(project: Project, by: str | Path | None, *, system: str = "wgs84") -> gpd.GeoDataFrame | None:
    """The area units coverage is counted by: a level of the project, a polygon file, or none.

    Parameters
    ----------
    by
        ``None`` / ``"none"``; a level the project has (``town``, ``community``, ``grid``);
        or the path of a polygon file (read with the planner's coordinate ``system``).

    Raises
    ------
    InputDataError
        A level the project has no polygons for, or a file that cannot be read.
    """
    if by is None or str(by) == "none":
        return None
    if str(by) in UNIT_LEVELS:
        level = str(by)
        if level not in project.units:
            raise InputDataError(
                f"项目 {project.name} 没有{LEVEL_ZH[level]}分区图层; "
                f"请用 --by 文件 给出多边形 (the project has no {level} polygons; pass a polygon file with --by FILE)"
            )
        return project.units[level]
    return read_units(Path(by), system=system, study_area=study_area_wgs84(project))


def load_analysis(
    project: str | Path | Project,
    *,
    minutes: float | None = None,
    units: gpd.GeoDataFrame | None = None,
    elderly_share: float | None = None,
    children_share: float | None = None,
    single_budget: bool = False,
    times: bool = True,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
) -> Analysis:
    """Load a project, build its routing graph and compute the walking times to every function.

    Parameters
    ----------
    project
        A bundled name (``"demo"``), a project ``.toml`` file or a loaded :class:`Project`.
    minutes
        Walking budget of every function, minutes (default: the largest default budget).
    units
        Area units to count coverage by (any CRS); the demand points are assigned to them.
    elderly_share, children_share
        Shares of residents who are elderly / children where the demand does not say.
    single_budget
        One budget for every facility type instead of each type's standard radius.
    times
        Compute the walking times (``False``: project and graph only).
    cache_dir
        Network cache folder (``None``: no cache).

    Raises
    ------
    GeoError
        Whatever loading the project or routing raises (bad files, empty network).
    """
    loaded = project if isinstance(project, Project) else load_project(project, cache_dir=cache_dir)
    graph = loaded.network.cost_graph(loaded.profile)
    if not times:
        return Analysis(loaded, graph)
    demand = loaded.demand
    if units is not None:
        demand = assign_units(demand.to_crs(loaded.network.crs), units.to_crs(loaded.network.crs))
    if elderly_share is not None or children_share is not None:
        demand = apply_age_shares(demand, elderly_share=elderly_share, children_share=children_share)
    budget = max(settings.DEFAULT_BUDGETS_MIN) if minutes is None else minutes
    acc = accessibility(
        graph, demand, loaded.facilities, minutes=budget, single_budget=single_budget, standard=loaded.standard
    )
    logger.info("analysis %s: %d demand points, %d facilities", loaded.name, len(demand), len(loaded.facilities))
    return Analysis(loaded, graph, acc)


# ----------------------------------------------------------------------------- coverage


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Coverage of every function: per function/type and unit, the standard check, gap cells.

    Attributes
    ----------
    table
        :func:`geo.access.coverage_tables.coverage_table` (residents covered, percent, budget per row).
    check
        :func:`check_standard` (pass/fail/missing with the standard, reach and clause per line).
    gaps
        Gap cells of every function (``group`` column), network CRS.
    """

    table: pd.DataFrame
    check: pd.DataFrame
    gaps: gpd.GeoDataFrame


def check_standard(
    analysis: Analysis,
    *,
    level: str = "15_minute",
    required_pct: float = settings.STANDARD_REQUIRED_COVERAGE_PCT,
    standard: str | None = None,
    rural_level: str | None = None,
    speeds_kmh: Mapping[str, float] | None = None,
    english: bool = False,
) -> pd.DataFrame:
    """The life-circle check of an analysis, each area by its own standard.

    GB 50180-2018 for the county seat's communities, TD/T 1062-2021 for villages and towns, from
    the units' 城乡类型 or the project's ``area_type``; ``standard`` (``gb50180`` / ``tdt1062``) is
    the planner's choice for every unit.  A whole area whose residents do not fit its level is
    checked per community (or grid) of the project.  See
    :func:`geo.access.life_circle.life_circle_check`.
    """
    project = analysis.project
    return life_circle_check(
        analysis.accessibility,
        level=level,
        required_pct=required_pct,
        override=standard or None,
        area_type=project.area_type,
        rural_level=rural_level,
        speeds_kmh=speeds_kmh,
        units=project.units,
        english=english,
    )


def check_standard_note(check: pd.DataFrame, *, chosen: str | None = None, town_reach_zh: str = "") -> str:
    """One line for a print's assumptions: the check's standard(s), how chosen, and what is 待核实.

    ``check`` is :func:`check_standard`'s table; ``chosen`` the planner's standard key (``None``
    or ``auto``: each unit by its 城乡类型).  Where lines use radii, travel times or clauses not yet
    confirmed against the text (``status`` 待核实), the line says how many items and of which standard.
    ``town_reach_zh`` (:attr:`geo.access.life_circle.LevelReach.note_zh`) is said where the check
    has town-level (乡集镇层级) lines.
    """
    from geo.access.standards import UNCONFIRMED_ZH

    codes = "、".join(sorted(set(check["standard"].astype(str)))) if len(check) else "—"
    how = "按分区城乡类型" if chosen in (None, "", "auto") else "规划师指定"
    line = f"生活圈检查标准: {codes}（{how}）"
    open_lines = check[check["status"].astype(str) == UNCONFIRMED_ZH] if len(check) else check
    if len(open_lines):
        which = "、".join(sorted(set(open_lines["standard"].astype(str))))
        n = int(open_lines["item"].nunique())
        line += f"；{which} 有 {n} 项服务半径、出行时间或条文{UNCONFIRMED_ZH}（尚未与标准原文核对）"
    if town_reach_zh and len(check) and (check["level"].astype(str) == "township").any():
        line += f"；镇级生活圈按{town_reach_zh}"
    return line


def analyse_coverage(
    analysis: Analysis,
    *,
    level: str = "15_minute",
    required_pct: float = settings.STANDARD_REQUIRED_COVERAGE_PCT,
    cell_m: float = settings.GAP_CELL_M,
    standard: str | None = None,
    rural_level: str | None = None,
    speeds_kmh: Mapping[str, float] | None = None,
) -> CoverageResult:
    """Coverage tables, the life-circle check (:func:`check_standard`) and gap cells of ``cell_m`` metres."""
    acc = analysis.accessibility
    table = coverage_table(acc)
    check = check_standard(
        analysis,
        level=level,
        required_pct=required_pct,
        standard=standard,
        rural_level=rural_level,
        speeds_kmh=speeds_kmh,
    )
    gaps = pd.concat([gap_cells(acc, f, cell_m=cell_m) for f in acc.functions.groups], ignore_index=True)
    return CoverageResult(table, check, gpd.GeoDataFrame(gaps, geometry="geometry", crs=acc.demand.crs))


# ----------------------------------------------------------------------------- service areas


@dataclass(frozen=True, eq=False)
class FunctionAreas:
    """The service areas of one function's facilities.

    Attributes
    ----------
    function
        Function key (``medical``...).
    facilities
        Facilities of the function in the project.
    snapped
        Of these, the ones reached from the walk network.
    areas
        One (dissolved) area per budget, network CRS; ``None`` when no facility is reached.
    """

    function: str
    facilities: int
    snapped: int
    areas: gpd.GeoDataFrame | None


def function_service_areas(
    analysis: Analysis,
    minutes: Sequence[float],
    *,
    rings: bool = False,
    functions: Sequence[str] | None = None,
    cache_dir: Path | None = None,
    simplify_m: float = 0.0,
    whole_cells: bool = False,
) -> list[FunctionAreas]:
    """The dissolved service areas of each function's facilities at every budget (``rings``: as bands).

    ``functions`` default to every function of the project (the six and its "1+6+X" extras).
    Functions without facilities are left out; functions whose facilities are all off the
    network come back with ``areas=None``.  With ``cache_dir``, each function's areas are kept
    on disk under a key of the network, the travel profile, the budgets and the facilities'
    positions, and read back instead of being computed again (a county's six functions take
    minutes; reading them, a second).  ``simplify_m`` > 0 simplifies the outlines for display
    (Douglas-Peucker within that many metres; ``area_m2`` stays the exact area), before caching.
    ``whole_cells``: as :func:`geo.access.service_area.service_areas` (an interactive session).
    """
    project, graph = analysis.project, analysis.graph
    out = []
    for function in project.standard.functions if functions is None else functions:
        rows = project.facilities[project.facilities["function"] == function]
        if rows.empty:
            out.append(FunctionAreas(function, 0, 0, None))
            continue
        path = _areas_cache_path(analysis, rows, minutes, rings, simplify_m, cache_dir)
        cached = _read_areas(path, graph.network.crs) if path is not None else None
        if cached is not None:
            out.append(FunctionAreas(function, len(rows), cached[0], cached[1]))
            continue
        snapped = snap_points(graph, rows.geometry)
        areas = None
        if snapped.ok.any():
            areas = service_areas(
                graph, snapped, minutes=tuple(minutes), mode="dissolve", rings=rings, whole_cells=whole_cells
            )
            if simplify_m > 0:
                # Without topology preservation: seconds instead of minutes on a county's rings.
                outlines = shapely.simplify(areas.geometry.to_numpy(), simplify_m, preserve_topology=False)
                areas = areas.set_geometry(shapely.make_valid(outlines))
        if path is not None:
            _write_areas(path, int(snapped.ok.sum()), areas)
        out.append(FunctionAreas(function, len(rows), int(snapped.ok.sum()), areas))
    return out


#: Version of the function-area cache files; bump when the polygons or the file change.
AREAS_CACHE_VERSION = 2  # 2: a polygon no longer depends on the other budgets asked for


def _areas_cache_path(
    analysis: Analysis,
    rows: gpd.GeoDataFrame,
    minutes: Sequence[float],
    rings: bool,
    simplify_m: float,
    cache_dir: Path | None,
) -> Path | None:
    net = analysis.graph.network
    if cache_dir is None or not net.source_key:
        return None
    digest = hashlib.sha256()
    profile = analysis.graph.profile
    for part in (
        AREAS_CACHE_VERSION,
        net.source_key,
        profile.name,
        profile.speed_kmh,
        tuple(float(m) for m in minutes),
        bool(rings),
        float(simplify_m),
        settings.STREET_BUFFER_M,
        settings.CELL_SPACING_M,
        rows.crs.to_epsg() or rows.crs.to_wkt(),  # not str(): a CRS read back from the cache prints as WKT
    ):
        digest.update(repr(part).encode())
    digest.update(np.ascontiguousarray(shapely.get_coordinates(rows.geometry.to_numpy())).tobytes())
    return Path(cache_dir) / f"areas-{digest.hexdigest()[:32]}.npz"


def _read_areas(path: Path, crs) -> tuple[int, gpd.GeoDataFrame | None] | None:
    """(snapped facilities, areas) from a cache file; ``None`` when there is none or it is damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        snapped = int(arrays.pop("snapped"))
        if "wkb" not in arrays:
            return snapped, None
        wkb, offsets = arrays.pop("wkb"), arrays.pop("offsets")
        geoms = shapely.from_wkb([wkb[a:b].tobytes() for a, b in itertools.pairwise(offsets.tolist())])
        frame = gpd.GeoDataFrame({k[4:]: v for k, v in arrays.items() if k.startswith("col_")}, geometry=geoms, crs=crs)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("damaged service-area cache %s discarded, rebuilding: %s", path.name, exc)
        path.unlink(missing_ok=True)
        return None
    return snapped, frame


def _write_areas(path: Path, snapped: int, areas: gpd.GeoDataFrame | None) -> None:
    arrays: dict[str, np.ndarray] = {"snapped": np.asarray(snapped)}
    if areas is not None:
        blobs = shapely.to_wkb(areas.geometry.to_numpy())
        arrays["offsets"] = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
        arrays["wkb"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
        for column in areas.columns:
            if column != areas.geometry.name:
                values = areas[column].to_numpy()
                arrays[f"col_{column}"] = values.astype(str) if values.dtype == object else values
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)
    except OSError as exc:
        logger.warning("could not write service-area cache %s: %s", path, exc)


@dataclass(frozen=True, eq=False)
class FacilityAreas:
    """Service areas of a set of facilities, with what each reaches.

    Attributes
    ----------
    facilities
        The facilities with ``snapped``, ``snap_dist_m`` (m) and ``status`` (Chinese) added.
    areas
        The service areas (one per facility and budget, or dissolved, or catchments), with
        ``facility_id`` and the walking-speed ``assumption``; network CRS.
    streets
        The reached street pieces within the largest budget, with ``facility_id``.
    """

    facilities: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame


def facility_service_areas(
    graph: CostGraph,
    facilities: gpd.GeoDataFrame,
    minutes: Sequence[float],
    *,
    mode: str = "overlap",
    rings: bool = False,
    width_m: float = settings.STREET_BUFFER_M,
    progress: Callable[[int, int], None] | None = None,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
) -> FacilityAreas:
    """Walking service areas of any facilities (with a ``facility_id``) on a routing graph.

    Parameters
    ----------
    minutes
        Budgets in minutes, checked (positive, at most the longest allowed).
    mode, rings, width_m
        As :func:`geo.access.service_area.service_areas` (``width_m`` in metres).
    progress
        Called with (done, total) facilities.
    cache_dir
        Street-cell cache folder (``None``: no cache).

    Raises
    ------
    InputDataError
        Bad budgets, mode or width.
    """
    budgets = check_budgets(minutes)
    snapped = snap_points(graph, facilities.geometry)
    areas = service_areas(
        graph,
        snapped,
        minutes=budgets,
        mode=mode,
        rings=rings,
        width_m=width_m,
        progress=progress,
        cache_dir=cache_dir,
    )
    streets = reached_streets(graph, snapped, minutes=budgets[-1])
    fac = facilities.assign(snapped=snapped.ok, snap_dist_m=snapped.access_m.round(1), status=snapped.status_zh())
    ids = fac["facility_id"].to_numpy()
    areas.insert(0, "facility_id", [ids[o] if o >= 0 else "" for o in areas["origin"]])
    if "name" in fac.columns:
        names = fac["name"].fillna("").astype(str).to_numpy()
        areas.insert(1, "name", [names[o] if o >= 0 else "" for o in areas["origin"]])
    areas["assumption"] = profile_note(graph.profile)
    streets.insert(0, "facility_id", ids[streets["origin"].to_numpy()])
    return FacilityAreas(fac, areas, streets)


@dataclass(frozen=True, eq=False)
class CandidateEffect:
    """What one candidate site would add.

    Attributes
    ----------
    snap_dist_m
        Metres from the site to the street it is snapped onto.
    rings
        Its service areas as rings, one per budget, network CRS.
    delta
        Residents newly covered per function (:func:`geo.access.coverage_tables.scenario_delta`,
        the existing facilities as the baseline).
    """

    snap_dist_m: float
    rings: gpd.GeoDataFrame
    delta: pd.DataFrame


def evaluate_candidate(analysis: Analysis, site: shapely.Point, minutes: Sequence[float]) -> CandidateEffect:
    """Service areas (rings) of one candidate site (network CRS) and the residents it newly covers.

    Raises
    ------
    InputDataError
        The site is farther than the snapping tolerance from every street.
    """
    graph = analysis.graph
    sites = gpd.GeoSeries([site], crs=analysis.project.network.crs)
    snapped = snap_points(graph, sites)
    if not snapped.ok[0]:
        raise InputDataError(
            f"候选点距步行道路超过 {settings.MAX_SNAP_DIST_M:g} m，无法连通路网 "
            "(candidate is too far from the walk network)"
        )
    # A candidate is dragged about: the whole network's cells, built once, serve every position.
    rings = service_areas(graph, snapped, minutes=tuple(minutes), rings=True, whole_cells=True)
    delta = scenario_delta(analysis.accessibility, graph, sites)
    together = delta[delta["candidate"] == -1].drop(columns=["candidate"])
    return CandidateEffect(round(float(snapped.access_m[0]), 1), rings, together)


def candidate_rings(analysis: Analysis, sites: gpd.GeoSeries, minutes: Sequence[float]) -> gpd.GeoDataFrame:
    """The service-area rings of several candidate sites at once, each its own (network CRS).

    One routing and one polygon pass for all of them (a plan's candidates redrawn for another
    travel profile or budget).  Rows: ``origin`` (index into ``sites``), ``min_from``,
    ``minutes`` and the polygon; a site farther than the snapping tolerance from every street
    has no rows.
    """
    graph = analysis.graph
    snapped = snap_points(graph, sites.to_crs(analysis.project.network.crs))
    if not snapped.ok.any():
        return gpd.GeoDataFrame({"origin": [], "min_from": [], "minutes": []}, geometry=[], crs=graph.network.crs)
    rings = service_areas(graph, snapped, minutes=tuple(minutes), mode="overlap", rings=True, whole_cells=True)
    return rings[["origin", "min_from", "minutes", "geometry"]]


# ----------------------------------------------------------------------------- placement


def placement_candidates(
    analysis: Analysis,
    source: str = "network",
    *,
    path: Path | None = None,
    system: str = "wgs84",
    spacing_m: float | None = None,
    sites_wgs84: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites for new centres, in the network's CRS.

    Parameters
    ----------
    source
        ``network`` (nodes on a spacing inside the study area), ``facilities`` (the
        project's existing public facilities), ``file`` (a planner's file at ``path`` in
        coordinate ``system``), ``plan`` (``sites_wgs84``, lon/lat rows drawn in a plan)
        or ``both`` (network nodes and the plan's sites).

    Raises
    ------
    InputDataError
        Unknown source, a missing file or no site at all.
    """
    if source not in CANDIDATE_SOURCES:
        raise InputDataError(f"候选点来源 {source!r} 无效，可选: {', '.join(CANDIDATE_SOURCES)} (unknown source)")
    project, graph = analysis.project, analysis.graph
    crs = project.network.crs
    if source == "facilities":
        return candidates_from_points(project.facilities, source="facilities")
    if source == "file":
        if path is None:
            raise InputDataError("候选点文件未给出 (no candidate file given)")
        return read_candidates(path, system=system, study_area=study_area_wgs84(project))
    parts = []
    if source in ("network", "both"):
        spacing = {} if spacing_m is None else {"spacing_m": spacing_m}
        parts.append(network_candidates(graph, boundary=project.boundary, **spacing))
    if source in ("plan", "both") and sites_wgs84 is not None and len(sites_wgs84):
        xy = np.asarray(sites_wgs84, float)
        drawn = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=WGS84).to_crs(crs)
        parts.append(candidates_from_points(drawn, source="plan"))
    if not parts:
        raise InputDataError("没有候选点 (no candidate sites): 请在方案中画出候选点或使用路网节点")
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)


def plan_centres(analysis: Analysis, candidates: gpd.GeoDataFrame, **options: object) -> Placement:
    """Solve one placement model on an analysis and explain it (:func:`geo.placement.place_centers`).

    ``options`` are :func:`~geo.placement.place_centers`'s keywords (``model``, ``p``,
    ``minutes``, ``functions``, ``capacity``, ``share``, ``method``, ``time_limit_s``,
    ``existing``); the analysis's walking times are the baseline.
    """
    acc = analysis.accessibility
    return place_centers(analysis.graph, acc.demand, candidates, acc=acc, **options)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- grids


def grid_units(
    project: Project,
    parents: gpd.GeoDataFrame | None = None,
    *,
    polygons: gpd.GeoDataFrame | None = None,
    water: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """The units grids are made of, with their households, in the network's CRS.

    Parameters
    ----------
    parents
        Parent polygons (communities) the grids nest in; the study area when omitted.
    polygons
        A planner's unit polygons (compounds); street blocks cut by the walk network otherwise.
    water
        Water to leave out of the street blocks.
    """
    crs = project.network.crs
    if polygons is not None:
        units = units_from_polygons(polygons.to_crs(crs))
    else:
        area = study_area(project) if parents is None else shapely.union_all(parents.geometry.to_numpy())
        cuts = parents.geometry.to_numpy() if parents is not None and len(parents) > 1 else None
        units = street_blocks(project.network.edges_gdf(), area=area, water=water, cuts=cuts)
    return units_with_households(units, project.demand)


def project_grids(
    project: Project,
    *,
    parents: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    min_households: float = settings.GRID_URBAN_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_URBAN_MAX_HOUSEHOLDS,
    seed: int = 0,
) -> GridPlan:
    """Management grids of a project: units (street blocks by default) grouped within the bounds."""
    units = grid_units(project, parents) if units is None else units
    return generate_grids(
        units,
        parents,
        min_households=min_households,
        max_households=max_households,
        seed=seed,
        facilities=project.facilities,
    )
