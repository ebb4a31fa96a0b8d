"""The analysis behind the pages: one project, loaded and computed once per process.

Everything a request needs — the network's routing graph, street cells, walking
times from every resident to every function, the service areas of the existing
facilities, gap cells and the base map — is computed here at start-up (a few seconds
on the demo), so that a request only runs the work that depends on its input (a
dragged candidate: its own Dijkstra and polygon union).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.coverage import Accessibility, accessibility, assign_units, with_budget
from geo.access.coverage_tables import gap_cells, plan_scenario
from geo.access.life_circle import choose_circle
from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.io.drawn import parse_number
from geo.maps.basemap import area_layers, road_layer
from geo.maps.viewport import ViewLayer, aggregate_points, check_view
from geo.network.graph import CostGraph
from geo.project import Project, load_project
from geo.settings import network_cache_dir
from geo.workflows import (
    Analysis,
    candidate_rings,
    evaluate_candidate,
    function_service_areas,
    load_analysis,
    placement_candidates,
    plan_centres,
    project_with_ledger,
    study_area_wgs84,
)
from geo.workflows.programme import CENTRE_MODES as PROGRAMME_CENTRE_MODES

logger = logging.getLogger(__name__)

__all__ = ["AnalysisState", "Scene", "get_state", "load_state"]

_STATES: dict[tuple, AnalysisState] = {}
#: Simplification of polygons drawn on the web map (metres); areas are measured before it.
DISPLAY_SIMPLIFY_M = 1.0
_STATES_LOCK = threading.Lock()


def get_state() -> AnalysisState:
    """The analysis of the app's project, loaded once per process (shared by apps on the same project)."""
    from flask import current_app

    key = (str(current_app.config["PROJECT"]), tuple(float(m) for m in current_app.config["MINUTES"]))
    with _STATES_LOCK:
        if key not in _STATES:
            _STATES[key] = load_state(
                key[0],
                minutes=key[1],
                cache_dir=network_cache_dir(current_app.config["CACHE_DIR"]),
                progress=_console_progress(),
            )
        return _STATES[key]


def _console_progress() -> Callable[[str, float], None]:
    """Log each stage of a project's loading once, with its share done: a county's first start
    takes minutes, and the console says what it is doing."""
    seen: set[str] = set()

    def report(stage_zh: str, fraction: float) -> None:
        if stage_zh not in seen:
            seen.add(stage_zh)
            logger.info("准备项目 (preparing the project) %3.0f%%: %s", 100 * fraction, stage_zh)

    return report


@dataclass(frozen=True)
class Scene:
    """What the map page is looking at: the travel profile, and the budget every function is
    judged by (minutes).  Switched in the page without a reload; the default is the project's
    profile and the largest budget (15 minutes)."""

    profile: str
    budget_min: float


#: Most scenes (profile, budget) kept by a server; the oldest is dropped first.
MAX_SCENES = 12


@dataclass(eq=False)
class AnalysisState:
    """A loaded project and everything precomputed for the pages and the API."""

    analysis: Analysis
    minutes: tuple[float, ...]
    boundary_wgs84: shapely.Geometry | None
    extent_wgs84: tuple[float, float, float, float]
    roads: gpd.GeoDataFrame
    gaps: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    load_s: float = 0.0
    #: Where the network and each function's service areas are cached (``None``: not cached).
    cache_dir: Path | None = None
    _areas: dict[str, gpd.GeoDataFrame | None] = field(default_factory=dict)
    _base_areas: gpd.GeoDataFrame | None = None
    _views: dict[tuple[str, str], ViewLayer] = field(default_factory=dict)
    _build_lock: threading.Lock = field(default_factory=threading.Lock)
    _view_locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _base_zooms: dict[str, tuple[np.ndarray, list[int]]] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _profiles: dict[str, Analysis] = field(default_factory=dict)
    _profile_lock: threading.Lock = field(default_factory=threading.Lock)
    _scenes: dict[Scene, Analysis] = field(default_factory=dict)
    _gaps: dict[tuple[str, Scene], gpd.GeoDataFrame] = field(default_factory=dict)
    _unit_codes: dict[str, np.ndarray] | None = None

    @property
    def project(self) -> Project:
        """The loaded project."""
        return self.analysis.project

    @property
    def graph(self) -> CostGraph:
        """The routing graph of the project's travel profile."""
        return self.analysis.graph

    @property
    def acc(self) -> Accessibility:
        """Walking times from every resident to every function."""
        return self.analysis.accessibility

    @acc.setter
    def acc(self, value: Accessibility) -> None:
        self.analysis = dataclasses.replace(self.analysis, acc=value)

    @property
    def functions(self) -> Mapping[str, str]:
        """The functions analysed, key -> Chinese name: the six and the project's "1+6+X" extras."""
        return self.project.standard.functions

    # --- h-rural (issue 21): facility groups of their own (学有所教: schools) with a map layer ---
    @property
    def facility_groups(self) -> Mapping[str, str]:
        """The standard's groups outside the functions that have facilities here, key -> Chinese name."""
        present = set(self.acc.facilities["function"].astype(str))
        return {key: name for key, name in self.project.standard.groups.items() if key in present}

    @property
    def ru_default_code(self) -> str:
        """The standard the check applies by default to a unit without a type: the project type's."""
        project = self.project
        return choose_circle(project.standard, whole_area=True, area_type=project.area_type).standard.code

    # --- end h-rural ---

    def function_areas(self, function: str, scene: Scene | None = None) -> gpd.GeoDataFrame | None:
        """The service-area rings of a function's facilities (WGS84), built on first use.

        Nothing is built at start: a county's six functions take minutes, and a planner looks
        at one at a time.  Each is computed when first asked for (or read from the cache
        folder, where a previous run left it) and kept; ``None`` when the function has no
        facility on the network.  ``scene``: the rings of its profile, in the bands up to its
        budget (:meth:`bands`); default the project's.
        """
        scene = scene or self.default_scene
        key = f"{function}|{scene.profile}|{self.bands(scene)}"
        if key in self._areas:
            return self._areas[key]
        with self._build_lock:
            if key not in self._areas:
                self._areas[key] = _function_areas(self, function, scene)
        return self._areas[key]

    @property
    def default_scene(self) -> Scene:
        """The project's travel profile and the largest budget."""
        return Scene(self.acc.profile.name, float(max(self.minutes)))

    def scene(self, profile: object = None, budget_min: object = None) -> Scene:
        """A checked scene from what a request asked (``None``: the project's default).

        Raises
        ------
        InputDataError
            An unknown profile, or a budget that is not a number of minutes within the times searched.
        """
        default = self.default_scene
        name = default.profile if profile in (None, "") else settings.get_profile(str(profile)).name
        limit_min = self.acc.functions.max_time_s / 60.0
        if budget_min in (None, ""):
            minutes = default.budget_min
        else:
            minutes = parse_number(budget_min, "时间阈值 budget")
        if not (math.isfinite(minutes) and 1 <= minutes <= limit_min):
            raise InputDataError(
                f"时间阈值应在 1-{limit_min:g} 分钟之间，当前为 {budget_min} "
                f"(the budget must lie in 1-{limit_min:g} min, the time searched)"
            )
        return Scene(name, minutes)

    def bands(self, scene: Scene) -> tuple[float, ...]:
        """Ring bands of a scene: the standard budgets below its budget, and its budget (minutes)."""
        return tuple(sorted({m for m in self.minutes if m < scene.budget_min} | {scene.budget_min}))

    def analysis_of(self, scene: Scene | None) -> Analysis:
        """The analysis a scene's figures come from.

        Another profile is routed once (walking times of every function on its own graph) and
        kept; another budget is a threshold on the same times
        (:func:`geo.access.coverage.with_budget`), no routing at all.
        """
        scene = scene or self.default_scene
        if scene == self.default_scene:
            return self.analysis
        found = self._scenes.get(scene)
        if found is not None:
            return found
        base = self._profile_analysis(scene.profile)
        acc = base.accessibility
        if scene.budget_min != max(self.minutes):
            acc = with_budget(acc, scene.budget_min)
        found = dataclasses.replace(base, acc=acc)
        with self.lock:
            while len(self._scenes) >= MAX_SCENES:
                self._scenes.pop(next(iter(self._scenes)))
            self._scenes[scene] = found
        return found

    def _profile_analysis(self, profile: str) -> Analysis:
        """The walking times of a travel profile at the largest budget (the project's own: as loaded)."""
        if profile == self.acc.profile.name:
            return self.analysis
        found = self._profiles.get(profile)
        if found is None:
            # Its own lock: a function's service areas are made under the build lock and ask for this.
            with self._profile_lock:
                found = self._profiles.get(profile)
                if found is None:
                    start = time.perf_counter()
                    graph = self.project.network.cost_graph(profile)
                    acc = accessibility(
                        graph,
                        self.acc.demand,
                        self.project.facilities,
                        minutes=max(self.minutes),
                        standard=self.project.standard,
                    )
                    found = self._profiles[profile] = Analysis(self.project, graph, acc)
                    logger.info("出行方式 (profile) %s: walking times in %.1f s", profile, time.perf_counter() - start)
        return found

    def gaps_of(self, function: str, scene: Scene | None = None) -> gpd.GeoDataFrame:
        """The worst gap cells of a function in a scene (WGS84), computed once per scene."""
        scene = scene or self.default_scene
        if scene == self.default_scene:
            return self.gaps[function]
        key = (function, scene)
        found = self._gaps.get(key)
        if found is None:
            found = _worst_gaps(self.analysis_of(scene).accessibility, function)
            with self.lock:
                while len(self._gaps) >= MAX_SCENES * 4:
                    self._gaps.pop(next(iter(self._gaps)))
                self._gaps[key] = found
        return found

    def unit_codes(self) -> dict[str, np.ndarray]:
        """Per area level of the project (town, community, grid) the unit of every demand point."""
        if self._unit_codes is None:
            demand = self.acc.demand
            self._unit_codes = {
                level: assign_units(demand, units.to_crs(demand.crs))["unit"].to_numpy(object)
                for level, units in self.project.units.items()
            }
        return self._unit_codes

    def unit_names(self) -> dict[str, dict[str, str]]:
        """Per area level, unit code -> name."""
        out = {}
        for level, units in self.project.units.items():
            names = units["name"] if "name" in units else units["code"]
            out[level] = dict(zip(units["code"].astype(str), names.astype(str), strict=True))
        return out

    def view(
        self, layer: str, function: str, bbox: Sequence[float], zoom: float, scene: Scene | None = None
    ) -> gpd.GeoDataFrame:
        """A layer of the map page in a window at a zoom (WGS84): what the browser draws there.

        ``roads`` (major streets from zoom 12, streets from 14, paths from 15: a whole county at
        zoom 11-13 shows its service areas and residents, not a grey mesh of blocks 3 px apart), ``areas``
        (water from 11, green from 12, buildings from 15), ``rings`` (the function's service
        areas), ``facilities`` (the function's), ``times`` (residents' walking times: each
        point from zoom :data:`POINTS_ZOOM`, gathered into cells below it) and ``gaps`` (the
        worst gap cells).  ``rings``, ``times`` and ``gaps`` are those of ``scene`` (its travel
        profile and budget; default the project's).
        """
        window, z = check_view(bbox, zoom)
        if layer == "times":
            points = walking_time_points(self, function, scene)
            inside = points.cx[window[0] : window[2], window[1] : window[3]]
            if z >= POINTS_ZOOM:
                return inside
            return aggregate_points(inside, z, weight="residents", values=("time_min",))
        if layer == "gaps":
            return self.gaps_of(function, scene).cx[window[0] : window[2], window[1] : window[3]]
        if layer not in VIEW_LAYERS:
            allowed = ", ".join((*VIEW_LAYERS, "times", "gaps"))
            raise InputDataError(f"没有图层 {layer!r}，可选: {allowed} (unknown layer)")
        if layer in BASE_LAYERS:
            # Base-map layers come in levels by the zoom they are first drawn at (major streets,
            # streets, paths; water, green, buildings), each built when first drawn: a county
            # at zoom 11 builds none (nor reads anything), at 12 only its major streets.
            levels = self._base_zooms_of(layer)[1] if z >= LAYER_MIN_ZOOM[layer] else []
            parts = [self._view((layer, str(v)), lambda v=v: _base_level(self, layer, v)) for v in levels if v <= z]
            shown = [part.view(window, z) for part in parts]
            if not shown:
                columns = ("cls", "name") if layer == "roads" else ("kind",)
                return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=WGS84)
            return pd.concat(shown, ignore_index=True) if len(shown) > 1 else shown[0]
        if layer == "rings":
            scene = scene or self.default_scene
            key = (layer, f"{function}|{scene.profile}|{self.bands(scene)}")
        else:
            key = (layer, function)
        return self._view(key, lambda: _view_layer(self, layer, function, scene)).view(window, z)

    def _view(self, key: tuple[str, str], build: Callable[[], ViewLayer]) -> ViewLayer:
        """The view layer of ``key``, built once: a request arriving while the warm-up (or
        another request) builds it waits for that build instead of doing the same work beside it."""
        view = self._views.get(key)
        if view is None:
            with self.lock:
                building = self._view_locks.setdefault(key, threading.Lock())
            with building:
                view = self._views.get(key)
                if view is None:
                    view = self._views[key] = build()
        return view

    def _base_zooms_of(self, layer: str) -> tuple[np.ndarray, list[int]]:
        """Per feature of a base-map layer the zoom it is first drawn at, and those zooms
        ascending (computed once per layer)."""
        cached = self._base_zooms.get(layer)
        if cached is None:
            if layer == "roads":
                zooms = self.roads["cls"].map(ROAD_MIN_ZOOM).fillna(OTHER_MIN_ZOOM).to_numpy(np.int16)
            else:
                zooms = self.areas["kind"].map(AREA_MIN_ZOOM).fillna(OTHER_MIN_ZOOM).to_numpy(np.int16)
            cached = self._base_zooms[layer] = (zooms, sorted(set(zooms.tolist())))
        return cached

    @property
    def areas(self) -> gpd.GeoDataFrame:
        """Base-map areas (buildings, water, green) of the project's OSM file, read on first use."""
        if self._base_areas is None:
            with self._build_lock:
                if self._base_areas is None:
                    proj = self.project
                    self._base_areas = (
                        area_layers(proj.osm_file, bbox=self.extent_wgs84)
                        if proj.osm_file is not None
                        else gpd.GeoDataFrame({"kind": [], "name": []}, geometry=[], crs=WGS84)
                    )
        return self._base_areas

    @property
    def study_area_wgs84(self) -> shapely.Geometry:
        """The boundary, or the network's extent, in WGS84."""
        return self.boundary_wgs84 if self.boundary_wgs84 is not None else shapely.box(*self.extent_wgs84)

    def assumptions(self, scene: Scene | None = None) -> dict:
        """What every figure on screen rests on, for the side panel (of ``scene``, default the project's)."""
        scene = scene or self.default_scene
        acc = self.analysis_of(scene).accessibility
        prof = acc.profile
        return {
            "profile": prof.name,
            "profile_zh": prof.label_zh,
            "speed_kmh": prof.speed_kmh,
            "speed_source": prof.source,
            "minutes": list(self.bands(scene)),
            "budget_min": scene.budget_min,
            "budget_m": round(prof.metres_in(scene.budget_min)),
            "standard": f"{acc.standard.code} {acc.standard.title_zh}",
            "floor_area_per_resident_m2": settings.FLOOR_AREA_PER_RESIDENT_M2,
            "persons_per_household": settings.PERSONS_PER_HOUSEHOLD,
            "street_buffer_m": settings.STREET_BUFFER_M,
            "residents": float(acc.demand["residents"].sum()),
            "demand_points": len(acc.demand),
        }

    def evaluate_candidate(
        self, point_wgs84: shapely.Point, minutes: tuple[float, ...] | None = None, scene: Scene | None = None
    ) -> dict:
        """Service areas (rings, default in the scene's bands) of one candidate site and the
        residents it newly covers (judged by the scene's profile and budget)."""
        scene = scene or self.default_scene
        site = gpd.GeoSeries([point_wgs84], crs=WGS84).to_crs(self.project.network.crs).iloc[0]
        # No lock: the routing graph, street cells and accessibility are read-only once
        # loaded, so two planners' candidates run at the same time on two cores.
        effect = evaluate_candidate(self.analysis_of(scene), site, minutes or self.bands(scene))
        return {
            "snap_dist_m": effect.snap_dist_m,
            "rings": effect.rings.to_crs(WGS84),
            "delta": effect.delta.to_dict(orient="records"),
        }


def plan_rings(
    state: AnalysisState, points_wgs84: Sequence[shapely.Point], scene: Scene | None = None
) -> gpd.GeoDataFrame:
    """Every candidate's own rings in the scene's bands (WGS84, ``origin`` = index of the point)."""
    scene = scene or state.default_scene
    sites = gpd.GeoSeries(list(points_wgs84), crs=WGS84)
    return candidate_rings(state.analysis_of(scene), sites, state.bands(scene)).to_crs(WGS84)


def evaluate_plan(state: AnalysisState, points_wgs84: Sequence[shapely.Point], scene: Scene | None = None) -> dict:
    """A plan's candidate sites together: per function residents covered before and after,
    newly covered, and each candidate's own and sole share (existing facilities the baseline);
    and per area unit of every level the project has (``units``), all candidates together."""
    analysis = state.analysis_of(scene)
    sites = gpd.GeoSeries(list(points_wgs84), crs=WGS84)
    scenario = plan_scenario(analysis.accessibility, analysis.graph, sites, units=state.unit_codes())
    columns = ["candidate", "function", "function_zh", "budget_min", "newly_covered", "sole_residents", "snapped"]
    columns += ["covered_before", "covered_after", "population", "covered_pct_before", "covered_pct_after"]
    table = scenario.table[columns].round(1)
    together = table[table["candidate"] == -1].drop(columns="candidate")
    together = together.assign(uncovered_after=(together["population"] - together["covered_after"]).round(1))
    units = scenario.units.round(1)
    names = state.unit_names()
    units.insert(
        2, "unit_name", [names.get(lv, {}).get(u, "") for lv, u in zip(units["level"], units["unit"], strict=True)]
    )
    return {
        "together": together.to_dict(orient="records"),
        "candidates": table[table["candidate"] >= 0].to_dict(orient="records"),
        "units": units.to_dict(orient="records"),
    }


#: The placement panel's parameters when the planner changes none; a 选址 map exported without a
#: job runs with exactly these (and the page's function).
PLACEMENT_DEFAULTS: dict = {
    "model": "mclp",
    "new": 3,
    "minutes": 15.0,
    "method": "exact",
    "time_limit_s": 60.0,
    "function": "medical",
    "candidates": "network",
    "sites": [],
    # h-centreweb (issue 21): the plan's centres counted as existing (open ones by default), the weight.
    "centres": "open",
    "centres_phase": None,
    "centre_features": [],
    "weight": None,
    # h-rural2 (issue 21): the town circle's speed a counted hub's town centre is reached at (None: e-bike 20).
    "town_speed": None,
}
#: How a placement counts the plan's centres (h-centreweb): open, up to a phase, none.
CENTRE_MODES = tuple(PROGRAMME_CENTRE_MODES)
STAGE_CENTRES_ZH = "计入方案中的邻里中心 (counting the plan's centres)"
STAGE_CANDIDATES_ZH = "生成候选点 (candidate sites)"
STAGE_RINGS_ZH = "画出新站点的服务范围 (service areas of the new sites)"


def run_placement(state: AnalysisState, params: dict, progress: Callable[[str, float], None] | None = None) -> dict:
    """A placement job: new neighborhood centers among network nodes and/or a plan's sites (JSON, WGS84).

    The existing facilities of ``params["function"]`` stay open and are the baseline: a site's
    ``marginal_residents`` (residents added) and ``sole_residents`` count only residents they do
    not already reach within the budget.  The result holds the parameters it ran with, the
    summary, the ranked sites and each site's service area at the budget (``rings``, GeoJSON).
    ``progress(stage_zh, share)`` is told each stage (a job's callback may raise to stop it).
    """
    report = progress or (lambda _stage, _fraction: None)
    params = {**PLACEMENT_DEFAULTS, **params}
    source = params.get("candidates", "network")
    if source == "network" and params.get("sites"):
        source = "both"
    function = params["function"]
    if function not in state.functions:
        raise InputDataError(f"功能 {function!r} 不在分析的功能中 (unknown function)")
    # Walking times of the page's travel profile (the project's unless the page chose another).
    analysis = state._profile_analysis(state.scene(params.get("profile")).profile)
    # h-centreweb (issue 21): the plan's open centres (or those up to a phase) as existing facilities,
    # site by site and function by function, as scripts.place_centers --centres; then the weight.
    centres, analysis, sites = _counted_centres(state, analysis, params, report)
    if params.get("weight"):
        from geo.workflows import weigh_analysis

        analysis = weigh_analysis(analysis, str(params["weight"])).analysis
    report(STAGE_CANDIDATES_ZH, 0.0)
    candidates = placement_candidates(analysis, source, sites_wgs84=sites)
    fac = analysis.accessibility.facilities
    plan = plan_centres(
        analysis,
        candidates,
        model=params["model"],
        p=params.get("new"),
        minutes=params["minutes"],
        method=params["method"],
        time_limit_s=params["time_limit_s"],
        existing=fac[fac["function"].to_numpy() == function],
        functions=[function],
        progress=lambda stage, f: report(stage, 0.05 + 0.85 * f),
        weight_column=params.get("weight") or None,
    )
    report(STAGE_RINGS_ZH, 0.92)
    sites = plan.sites.to_crs(WGS84)
    columns = ["rank", "marginal_residents", "sole_residents", "assigned_residents", "mean_time_min"]
    frame = pd.DataFrame({c: sites[c].to_numpy() for c in columns if c in sites})
    frame["lon"], frame["lat"] = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    if "source" in sites:
        frame["source"] = sites["source"].astype(str).to_numpy()
    # NaN (a site serving nobody has no mean walk) is not JSON: null.
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    summary = {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v)
        for k, v in plan.summary.items()
        if isinstance(v, str | int | float | bool) or v is None
    }
    coverage = plan.coverage.round(2).to_dict(orient="records") if len(plan.coverage) else []
    ran = {k: params[k] for k in ("model", "new", "minutes", "method", "function", "candidates")}
    ran["profile"] = analysis.graph.profile.name
    ran["candidates"] = source
    ran["existing"] = int((fac["function"].to_numpy() == function).sum())
    ran["weight"] = params.get("weight") or None
    ran["centres"], ran["centres_phase"] = centres["mode"], centres["phase"]
    return {
        "params": ran,
        "summary": summary,
        "sites": rows,
        "coverage": coverage,
        "centres": centres,
        "rings": _site_rings(analysis, plan),
    }


def _counted_centres(
    state: AnalysisState, analysis: Analysis, params: dict, report: Callable[[str, float], None]
) -> tuple[dict, Analysis, list]:
    """The plan's centres a placement counts (h-centreweb, issue 21), the analysis with them, the candidate sites.

    ``params["centre_features"]`` are the saved plan's candidates (as it was when the job was
    submitted); ``centres`` ``open`` counts the centres open today, ``phase`` those of
    ``centres_phase`` or earlier, ``none`` none.  The counted sites become facilities through
    :func:`geo.workflows.programme.project_with_centres` (the script's ``--centres``), and the
    walking times are those of that project on the same graph; a counted site is not a
    candidate again.  Returns the result's ``centres`` block (mode, phase, the counted sites,
    the sentence the print uses), the analysis and the remaining candidate sites ([lon, lat]).
    """
    from geo.access.centres import centre_facilities
    from geo.workflows.programme import (
        centre_mask,
        counted_centres,
        counted_centres_text,
        programme_from_features,
        project_with_centres,
        with_town_reach,
    )

    mode = params.get("centres") or "open"
    phase = params.get("centres_phase") if mode == "phase" else None
    features = params.get("centre_features") or []
    sites = list(params.get("sites") or [])
    block: dict = {"mode": mode, "phase": phase, "plan": params.get("plan"), "counted": [], "facilities": []}
    if mode == "none" or params.get("plan") is None:
        block["text_zh"] = counted_centres_text([], mode="none") if mode == "none" else "未选方案，未计入邻里中心"
        return block, analysis, sites
    if not features:
        block["text_zh"] = counted_centres_text([], mode=mode, phase=phase)
        return block, analysis, sites
    report(STAGE_CENTRES_ZH, 0.0)
    programme = programme_from_features(features, state.functions)
    counted = counted_centres(programme, up_to_phase=phase)
    rows = counted.drop(columns="geometry").assign(lon=counted.geometry.x.to_numpy(), lat=counted.geometry.y.to_numpy())
    block["counted"] = json.loads(rows.to_json(orient="records", force_ascii=False))
    block["text_zh"] = counted_centres_text(block["counted"], mode=mode, phase=phase)
    if not len(counted):
        return block, analysis, sites
    # The facility rows the counted sites become (one per site and hosted function), for the print.
    added = centre_facilities(programme.centres, centre_mask(programme, up_to_phase=phase)).to_crs(WGS84)
    facilities = pd.DataFrame(
        {
            "function": added["function"].astype(str).to_numpy(),
            "name": added["name"].astype(str).to_numpy(),
            "lon": added.geometry.x.to_numpy(),
            "lat": added.geometry.y.to_numpy(),
        }
    )
    block["facilities"] = json.loads(facilities.to_json(orient="records", force_ascii=False, double_precision=10))
    project = project_with_centres(analysis.project, programme, up_to_phase=phase)
    analysis = _centres_analysis(state, analysis, project, block["facilities"])
    # h-rural2 (issue 21): a hub's town centre reaches in the town circle's mode, said beside the figures.
    town = with_town_reach(
        analysis.accessibility, analysis.graph, programme, up_to_phase=phase, town_speed_kmh=params.get("town_speed")
    )
    block["town_reach_zh"], block["town_reach_en"] = town.text_zh, town.text_en
    if town.towns:
        analysis = dataclasses.replace(analysis, acc=town.acc)
        block["text_zh"] += f"；{town.text_zh}"
    # A site counted as built is not proposed again.
    taken = {(round(float(x), 7), round(float(y), 7)) for x, y in zip(rows["lon"], rows["lat"], strict=True)}
    sites = [s for s in sites if (round(float(s[0]), 7), round(float(s[1]), 7)) not in taken]
    return block, analysis, sites


def _site_rings(analysis: Analysis, plan) -> dict:
    """Each new site's service area at the placement's budget, as GeoJSON (WGS84)."""
    sites = plan.sites
    if not len(sites):
        return {"type": "FeatureCollection", "features": []}
    areas = candidate_rings(analysis, sites.geometry, (float(plan.summary["budget_min"]),))
    areas = areas.assign(rank=sites["rank"].to_numpy()[areas["origin"].to_numpy()])
    areas = areas[["rank", "minutes", "geometry"]].to_crs(WGS84)
    areas = areas.assign(geometry=shapely.set_precision(areas.geometry.to_numpy(), 1e-6, mode="pointwise"))
    return json.loads(areas.to_json(drop_id=True))


def _function_areas(state: AnalysisState, function: str, scene: Scene) -> gpd.GeoDataFrame | None:
    start = time.perf_counter()
    logger.info("服务范围 (service areas) %s %s: making or reading from the cache", function, scene)
    # A metre of simplification is invisible on screen and halves the page.
    (fa,) = function_service_areas(
        state._profile_analysis(scene.profile),
        state.bands(scene),
        rings=True,
        functions=[function],
        cache_dir=state.cache_dir,
        simplify_m=DISPLAY_SIMPLIFY_M,
        whole_cells=True,  # the candidates drawn next may go anywhere
    )
    logger.info("服务范围 (service areas) %s: %.1f s", function, time.perf_counter() - start)
    return None if fa.areas is None else fa.areas.to_crs(WGS84)


def _worst_gaps(acc: Accessibility, function: str) -> gpd.GeoDataFrame:
    """The worst gap cells of a function (WGS84): those the map shows."""
    cells = gap_cells(acc, function)
    return cells[cells["uncovered"] > 0].head(settings.GAP_CELLS_SHOWN).to_crs(WGS84)


def load_state(
    project: str | Path = "demo",
    *,
    minutes: tuple[float, ...] = settings.DEFAULT_BUDGETS_MIN,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
    progress: Callable[[str, float], None] | None = None,
) -> AnalysisState:
    """Load a project and precompute what the pages show.

    ``progress(stage_zh, fraction)`` is told each stage: reading the parts (first half), then
    the walking times and the gap cells (second half).  Service areas are made when first shown.
    """
    start = time.perf_counter()
    report = progress or (lambda _stage, _fraction: None)
    loaded = load_project(project, cache_dir=cache_dir, progress=lambda stage, f: report(stage, 0.5 * f))
    return _build_state(
        loaded,
        minutes,
        start,
        cache_dir=cache_dir,
        progress=lambda stage, f: report(stage, 0.5 + 0.5 * f),
    )


def replace_ledger(app, part: str, frame: gpd.GeoDataFrame) -> AnalysisState:
    """Put a read ledger into the app's project (facilities or compounds) and recompute what the pages show.

    The new state replaces the old one for every later request; requests already running keep
    the state they started with.
    """
    key = (str(app.config["PROJECT"]), tuple(float(m) for m in app.config["MINUTES"]))
    with app.app_context():
        old = get_state()
    start = time.perf_counter()
    state = _build_state(project_with_ledger(old.project, part, frame), old.minutes, start, cache_dir=old.cache_dir)
    with _STATES_LOCK:
        _STATES[key] = state
    logger.info("ledger %s put into %s: %s", part, state.project.name, frame.attrs["report"].summary())
    return state


def open_project(app, path: Path, *, progress: Callable[[str, float], None] | None = None) -> dict:
    """Load a project (a new study area built from the page) and make it the app's project.

    Runs as a background job: the network, the ledgers and the walking times are computed here,
    then every later request is served from the new project; requests already running finish on
    the old one.
    """
    minutes = tuple(float(m) for m in app.config["MINUTES"])
    state = load_state(path, minutes=minutes, cache_dir=network_cache_dir(app.config["CACHE_DIR"]), progress=progress)
    with _STATES_LOCK:
        _STATES[(str(path), minutes)] = state
        app.config["PROJECT"] = str(path)
    reports = {part: report.summary() for part, report in state.project.reports.items()}
    return {"project": state.project.name, "path": str(path), "load_s": round(state.load_s, 1), "reports": reports}


def _build_state(
    proj: Project,
    minutes: tuple[float, ...],
    start: float,
    *,
    cache_dir: Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> AnalysisState:
    """What the pages start from.

    No function's service areas are made here: each is made (or read from the cache folder)
    when a page first shows it, so a new county's first start waits for one function's
    areas (and the street cells), not for six.
    """
    report = progress or (lambda _stage, _fraction: None)
    report("计算居民到各项功能的步行时间", 0.0)
    analysis = load_analysis(proj, minutes=max(minutes), units=proj.units.get("community"))
    report("准备底图道路", 0.2)
    boundary = study_area_wgs84(proj)
    extent = tuple(gpd.GeoSeries([shapely.box(*proj.network.bounds)], crs=proj.network.crs).to_crs(WGS84).total_bounds)
    state = AnalysisState(
        analysis=analysis,
        minutes=tuple(minutes),
        boundary_wgs84=boundary,
        extent_wgs84=tuple(float(v) for v in extent),
        roads=road_layer(proj.network),
        cache_dir=cache_dir,
    )
    report("统计覆盖缺口", 0.9)
    for function in proj.standard.functions:
        state.gaps[function] = _worst_gaps(analysis.accessibility, function)
    state.load_s = time.perf_counter() - start
    logger.info("project %s ready in %.1f s", proj.name, state.load_s)
    return state


#: Layers of the map page served by window and zoom (:meth:`AnalysisState.view`).
VIEW_LAYERS = ("roads", "areas", "rings", "facilities")
#: Smallest zoom of each road class and base-map area kind.
ROAD_MIN_ZOOM = {"major": 12, "street": 14, "path": 15}
AREA_MIN_ZOOM = {"water": 11, "green": 12, "building": 15}
#: Base-map layers, served in levels by zoom; below its smallest zoom a layer draws nothing.
BASE_LAYERS = ("roads", "areas")
#: Zoom of road classes and area kinds not named above.
OTHER_MIN_ZOOM = 15
LAYER_MIN_ZOOM = {
    "roads": min(*ROAD_MIN_ZOOM.values(), OTHER_MIN_ZOOM),
    "areas": min(*AREA_MIN_ZOOM.values(), OTHER_MIN_ZOOM),
}
#: From this zoom residents' walking times are drawn point by point; below it, in cells.
POINTS_ZOOM = 14


def _base_level(state: AnalysisState, layer: str, zoom: int) -> ViewLayer:
    """The features of a base-map layer first drawn at ``zoom``."""
    at = state._base_zooms_of(layer)[0] == zoom
    if layer == "roads":
        return ViewLayer(state.roads.loc[at, ["cls", "name", "geometry"]], zoom, merge_by=("cls", "name"))
    return ViewLayer(state.areas.loc[at, ["kind", "geometry"]], zoom, merge_by=("kind",))


def _view_layer(state: AnalysisState, layer: str, function: str, scene: Scene | None) -> ViewLayer:
    if layer == "rings":
        rings = state.function_areas(function, scene)
        if rings is None:
            rings = gpd.GeoDataFrame({"min_from": [], "minutes": [], "area_m2": []}, geometry=[], crs=WGS84)
        frame = rings[["min_from", "minutes", "area_m2", "geometry"]].copy()
        frame["band"] = np.argsort(np.argsort(frame["minutes"].to_numpy()))
        frame["area_km2"] = (frame.pop("area_m2") / 1e6).round(3)
        # Kept as parts, sent as one feature per band.
        return ViewLayer(frame, np.zeros(len(frame)), merge_by=("min_from", "minutes", "band", "area_km2"))
    fac = state.acc.facilities
    fac = fac[fac["function"].to_numpy() == function]
    # The facility type's English name from the standard, for the English page (empty without a type).
    english = {key: ftype.name_en for key, ftype in state.acc.standard.facility_types.items()}
    types = fac["type"].fillna("").astype(str).to_numpy() if "type" in fac else np.full(len(fac), "")
    frame = gpd.GeoDataFrame(
        {
            "name": fac["name"].fillna("").astype(str).to_numpy() if "name" in fac else "",
            "kind": (fac["type_zh"] if "type_zh" in fac else fac["type"]).fillna("").astype(str).to_numpy(),
            "kind_en": [english.get(key, "") for key in types],
            "source": fac["source"].fillna("").astype(str).to_numpy() if "source" in fac else "",
        },
        geometry=shapely.point_on_surface(fac.geometry.to_numpy()),
        crs=fac.crs,
    )
    return ViewLayer(frame, np.zeros(len(frame)))


def walking_time_points(state: AnalysisState, function: str, scene: Scene | None = None) -> gpd.GeoDataFrame:
    """Demand points with the walking time to the nearest facility of a function (WGS84), by
    the scene's travel profile (default the project's)."""
    acc = state.analysis_of(scene).accessibility
    minutes = acc.times_s(function) / 60.0
    idx = acc.nearest_index(function)
    names = (
        acc.facilities["name"].fillna("").astype(str).to_numpy()
        if "name" in acc.facilities
        else np.full(len(acc.facilities), "")
    )
    demand = acc.demand
    frame = gpd.GeoDataFrame(
        {
            "residents": demand["residents"].round(1).to_numpy(),
            "time_min": np.where(np.isfinite(minutes), np.round(minutes, 1), np.nan),
            "facility": np.where(idx >= 0, names[np.clip(idx, 0, None)] if len(names) else "", ""),
        },
        geometry=shapely.point_on_surface(demand.geometry.to_numpy()),
        crs=demand.crs,
    )
    return frame.to_crs(WGS84)


#: Demand columns a planner may weigh coverage by, when the project's demand has them (issue 20:
#: the age groups and the special groups 高龄/空巢/困难群众 counted per compound; never individuals).
WEIGHT_COLUMNS = ("elderly", "children", "oldest_old", "empty_nest", "hardship")


def weight_columns(state: AnalysisState) -> list[str]:
    """The weights this project's demand offers (:data:`WEIGHT_COLUMNS` it carries, ledger counts included)."""
    from geo.access.special_groups import special_group_columns

    demand = special_group_columns(state.acc.demand)
    return [c for c in WEIGHT_COLUMNS if c in demand.columns and float(demand[c].sum()) > 0]


def coverage_summary(state: AnalysisState, scene: Scene | None = None, weight: str | None = None) -> pd.DataFrame:
    """Residents (or the ``weight`` column: see :func:`weight_columns`) covered per function within
    the budget (whole area), in a scene (default the project's).

    Raises
    ------
    InputDataError
        A weight this project's demand does not offer.
    """
    from geo.access.coverage import with_weight
    from geo.access.coverage_tables import coverage_table
    from geo.access.special_groups import special_group_columns

    if weight is not None and weight not in weight_columns(state):
        offered = "、".join(weight_columns(state)) or "无"
        raise InputDataError(f"权重 {weight!r} 不可用；本项目可选: {offered} (unknown weight)")
    key = ("coverage_summary", scene or state.default_scene, weight)
    with state.lock:
        kept = state.cache.get(key)
    if kept is None:
        acc = state.analysis_of(scene).accessibility
        if weight is not None:
            acc = with_weight(dataclasses.replace(acc, demand=special_group_columns(acc.demand)), weight)
        table = coverage_table(acc, by_unit=False)
        kept = table[table["kind"] == "function"]
        with state.lock:
            state.cache[key] = kept
    return kept


#: Walking times with a plan's centres, kept for the last set of centres counted (h-centreweb).
_CENTRES_KEY = "centres_analysis"


def _centres_analysis(state: AnalysisState, analysis: Analysis, project: Project, added: list) -> Analysis:
    """Walking times to every function with ``project``'s facilities (the plan's centres, ``added``,
    among them), on ``analysis``'s graph and demand, at the page's largest budget; the last one kept
    (a second run with the same centres routes nothing)."""
    fac = project.facilities
    key = (analysis.graph.profile.name, len(fac), json.dumps(added, sort_keys=True))
    # No lock: one dict read and one write (atomic), and a caller may already hold state.lock
    # (the 选址 export runs a placement under it).
    kept = state.cache.get(_CENTRES_KEY)
    if kept is not None and kept[0] == key:
        return kept[1]
    acc = accessibility(
        analysis.graph,
        analysis.accessibility.demand,
        fac,
        minutes=max(state.minutes),
        standard=project.standard,
    )
    found = Analysis(project, analysis.graph, acc)
    state.cache[_CENTRES_KEY] = (key, found)
    return found
