"""Print maps of a study area: the registry of map kinds, each computed here and drawn by :mod:`geo.maps`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.coverage import BASIS_ZH
from geo.access.coverage_tables import gap_cells
from geo.access.service_area import service_areas
from geo.errors import InputDataError
from geo.grids.output import grids_gdf
from geo.io.crs import WGS84
from geo.maps.content import (
    MAP_KINDS,
    coverage_content,
    coverage_text,
    grids_content,
    inside_mask,
    placement_content,
    service_area_content,
    source_lines,
)
from geo.maps.layout import LayoutText, MapContent
from geo.network.snapping import snap_points
from geo.placement.centers import MODELS, STATUS_ZH, placement_costs
from geo.workflows.analysis import Analysis, placement_candidates, plan_centres, project_grids
from geo.workflows.outputs import is_estimate

logger = logging.getLogger(__name__)

__all__ = ["MAP_BUILDERS", "PlacementDrawing", "ProjectMap", "placement_drawing", "placement_result_map", "project_map"]


@dataclass(frozen=True)
class ProjectMap:
    """One kind of map of a project, ready to lay out for the whole area or any part of it.

    Attributes
    ----------
    content
        The map content (network CRS).
    text
        ``text(area_name, area)`` gives the page's :class:`~geo.maps.layout.LayoutText` for an
        area (a polygon in the network's CRS) or the whole project (``None, None``).
    """

    content: MapContent
    text: Callable[[str | None, shapely.Geometry | None], LayoutText]


@dataclass(frozen=True)
class _MapRequest:
    analysis: Analysis
    function: str
    minutes: float
    sites: int
    min_households: float
    max_households: float
    fields: Mapping[str, str]
    check_note: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        project = self.analysis.project
        sources = source_lines(project.facilities, project.demand)
        if project.boundary is not None:
            sources = (*sources, f"研究区边界: {project.name} 项目文件 {project.source.name}")
        return sources

    @property
    def label(self) -> str:
        """The function's Chinese name."""
        return self.analysis.project.standard.function_label(self.function)

    def where(self, area_name: str | None) -> str:
        name = self.analysis.project.name
        return f"{name} · {area_name}" if area_name else name

    @property
    def facilities(self) -> gpd.GeoDataFrame:
        fac = self.analysis.project.facilities
        return fac[fac["function"] == self.function]


def _coverage_map(req: _MapRequest) -> ProjectMap:
    acc, project = req.analysis.accessibility, req.analysis.project
    gaps = gap_cells(acc, req.function)
    content = coverage_content(acc, req.function, network=project.network, boundary=project.boundary, gaps=gaps)

    def text(area_name: str | None, area: shapely.Geometry | None) -> LayoutText:
        words = coverage_text(
            acc,
            req.function,
            project_name=project.name,
            area_name=area_name,
            area_mask=inside_mask(acc.demand, area),
            **req.fields,
        )
        # h-rural2 (issue 21): the check standard chosen and what is 待核实, as the report says
        extra = (req.check_note,) if req.check_note else ()
        return replace(words, sources=req.sources, assumptions=(*words.assumptions, *extra))

    return ProjectMap(content, text)


def _service_area_map(req: _MapRequest) -> ProjectMap:
    project, graph, fac = req.analysis.project, req.analysis.graph, req.facilities
    if fac.empty:
        raise InputDataError(f"项目中没有{req.label}设施，无法画服务范围 (no facilities of {req.function})")
    budgets = (*(m for m in settings.DEFAULT_BUDGETS_MIN if m < req.minutes), float(req.minutes))
    areas = service_areas(graph, snap_points(graph, fac.geometry), minutes=budgets, mode="dissolve", rings=True)
    content = service_area_content(
        areas, fac, function=req.function, network=project.network, boundary=project.boundary
    )
    prof = graph.profile
    speed = f"{prof.label_zh} 步速 {prof.speed_kmh:g} km/h ({prof.source})"

    def text(area_name: str | None, area: shapely.Geometry | None) -> LayoutText:
        return LayoutText(
            title=f"{req.label} 设施步行服务范围",
            subtitle=f"{req.where(area_name)} — {len(fac)} 处设施, {', '.join(f'{b:g}' for b in budgets)} 分钟",
            sources=req.sources,
            assumptions=(speed, f"服务范围沿步行道路计算, 道路两侧各缓冲 {settings.STREET_BUFFER_M:g} 米"),
            **req.fields,
        )

    return ProjectMap(content, text)


def _grids_map(req: _MapRequest) -> ProjectMap:
    project = req.analysis.project
    plan = project_grids(project, min_households=req.min_households, max_households=req.max_households)
    grids = grids_gdf(plan)
    estimated = is_estimate(project.demand)
    content = grids_content(
        grids,
        min_households=req.min_households,
        max_households=req.max_households,
        network=project.network,
        boundary=project.boundary,
        estimated=estimated,
    )

    def text(area_name: str | None, area: shapely.Geometry | None) -> LayoutText:
        inside = grids[inside_mask(grids, area)]
        return LayoutText(
            title="管理网格划分",
            subtitle=f"{req.where(area_name)} — {len(inside)} 个网格, "
            f"{'估算 ' if estimated else ''}{inside['households'].sum():,.0f} 户",
            sources=req.sources,
            assumptions=(
                f"每格 {req.min_households:g}-{req.max_households:g} 户 (城市社区网格的常见做法)",
                "网格由街坊 (路网围合) 整块组成; 户数 = 居民数 ÷ 户均人口",
            ),
            **req.fields,
        )

    return ProjectMap(content, text)


def _placement_map(req: _MapRequest) -> ProjectMap:
    analysis, project, fac = req.analysis, req.analysis.project, req.facilities
    acc = analysis.accessibility
    placement = plan_centres(
        analysis,
        placement_candidates(analysis, "network"),
        model="mclp",
        p=req.sites,
        minutes=req.minutes,
        existing=fac,
        functions=[req.function],
    )
    content = placement_content(placement, existing=fac, network=project.network, boundary=project.boundary)

    params = {"model": "mclp", "new": req.sites, "minutes": req.minutes, "candidates": "network"}
    lines = placement_parameter_lines(params, placement.summary, existing=len(fac))

    def text(area_name: str | None, area: shapely.Geometry | None) -> LayoutText:
        return LayoutText(
            title=f"{req.label} 新增中心选址 (最大覆盖)",
            subtitle=f"{req.where(area_name)} — 新增 {len(placement.sites)} 处, 步行 {req.minutes:g} 分钟",
            sources=req.sources,
            assumptions=(*lines, f"步速 {acc.profile.speed_kmh:g} km/h ({acc.profile.source})"),
            **req.fields,
        )

    return ProjectMap(content, text)


#: How a placement's candidate source reads on a print map.
CANDIDATE_SOURCES_ZH = {
    "network": f"路网节点 (间距约 {settings.PLACEMENT_CANDIDATE_SPACING_M:g} 米)",
    "plan": "方案中的候选点",
    "both": f"路网节点 (间距约 {settings.PLACEMENT_CANDIDATE_SPACING_M:g} 米) 与方案中的候选点",
}


@dataclass(frozen=True)
class PlacementDrawing:
    """What the 选址 print map draws of one placement run (network CRS).

    Attributes
    ----------
    sites
        The run's new sites: ``rank``, ``marginal_residents``, ``sole_residents``, point geometry.
    assignment
        Demand points with ``residents``, ``covered_before`` (within the budget of an existing
        facility of the function) and ``covered_after`` (or of a new site).
    existing
        The function's existing facilities (the baseline).
    params, summary
        The run's parameters (``model``, ``new``, ``minutes``, ``function``, ``candidates``) and summary.
    site_areas
        The sites' walking service areas at the budget as the run stored them (``rank``,
        ``minutes``), ``None`` when it stored none.
    """

    sites: gpd.GeoDataFrame
    assignment: gpd.GeoDataFrame
    existing: gpd.GeoDataFrame
    params: Mapping
    summary: Mapping
    site_areas: gpd.GeoDataFrame | None = None


def placement_drawing(analysis: Analysis, result: Mapping) -> PlacementDrawing:
    """The print map's data of a stored placement run (a job's result: ``params``, ``summary``, ``sites``).

    The sites, ranks, parameters and summary are the run's own; who is covered before and
    after is walked again from the run's sites and the function's existing facilities at the
    run's budget (the same walking times the run counted with).

    Raises
    ------
    InputDataError
        A result without parameters or sites, or of a function the project does not analyse.
    """
    params, rows = result.get("params"), result.get("sites")
    if not isinstance(params, Mapping) or not isinstance(rows, list):
        raise InputDataError("选址结果缺少参数或站点，请重新计算选址 (the placement result lacks params or sites)")
    function = str(params.get("function", ""))
    analysis.project.standard.function_label(function)  # an unknown function names the allowed ones
    acc, graph = analysis.accessibility, analysis.graph
    crs = analysis.project.network.crs
    xy = np.array([[row["lon"], row["lat"]] for row in rows], float).reshape(-1, 2)
    columns = {k: [row.get(k) for row in rows] for k in ("rank", "marginal_residents", "sole_residents")}
    sites = gpd.GeoDataFrame(columns, geometry=shapely.points(xy), crs=WGS84).to_crs(crs)
    fac = acc.facilities
    existing = fac[fac["function"].to_numpy() == function].to_crs(crs)
    # h-centreweb (issue 21): the plan's centres the run counted, those sites hosting the function.
    centres = result.get("centres")
    counted = centres.get("facilities") if isinstance(centres, Mapping) else None
    if isinstance(counted, list) and counted:
        rows = pd.DataFrame(counted)
        rows = rows[rows["function"].astype(str).to_numpy() == function]
        if len(rows):
            sites_fac = gpd.GeoDataFrame(
                {"function": function, "name": rows["name"].astype(str).to_numpy(), "source": "邻里中心"},
                geometry=shapely.points(rows[["lon", "lat"]].to_numpy(float)),
                crs=WGS84,
            ).to_crs(crs)
            existing = gpd.GeoDataFrame(pd.concat([existing, sites_fac], ignore_index=True), crs=crs)
    demand = acc.demand.to_crs(crs).reset_index(drop=True)
    budget_s = 60.0 * float(params["minutes"])
    points = gpd.GeoSeries(
        np.r_[sites.geometry.to_numpy(), shapely.point_on_surface(existing.geometry.to_numpy())], crs=crs
    )
    before = np.zeros(len(demand), bool)
    after = np.zeros(len(demand), bool)
    if len(points):
        costs = placement_costs(graph, demand, points, cutoff_s=budget_s)
        within = costs.time_s <= budget_s
        before[costs.demand[within & (costs.cand >= len(sites))]] = True
        after[costs.demand[within]] = True
    assignment = gpd.GeoDataFrame(
        {"residents": demand["residents"].to_numpy(float), "covered_before": before, "covered_after": after},
        geometry=demand.geometry.to_numpy(),
        crs=crs,
    )
    rings = result.get("rings")
    areas = None
    if isinstance(rings, Mapping) and rings.get("features"):
        areas = gpd.GeoDataFrame.from_features(rings["features"], crs=WGS84).to_crs(crs)
    return PlacementDrawing(sites, assignment, existing, dict(params), dict(result.get("summary") or {}), areas)


def placement_parameter_lines(
    params: Mapping, summary: Mapping, *, existing: int, centres_text: str = ""
) -> tuple[str, ...]:
    """The run's parameters as printed on a 选址 map: model, new centres, budget, candidate source; the
    weight and the plan's centres counted as existing (``centres_text``) when the run had them."""
    model = MODELS.get(str(params.get("model")), str(params.get("model"))).split(" (")[0]  # Chinese only
    chosen = summary.get("new_sites")
    asked = f"新增中心 {params.get('new')} 处" + (
        f" (选出 {chosen} 处, 其余不再增加覆盖)" if chosen is not None and chosen != params.get("new") else ""
    )
    source = CANDIDATE_SOURCES_ZH.get(str(params.get("candidates")), str(params.get("candidates")))
    status = str(summary.get("status_zh") or STATUS_ZH.get(str(summary.get("status")), "")).split(" (")[0]
    lines: tuple[str, ...] = (
        f"参数: 模型 {model}; {asked}; 步行时间阈值 {float(params['minutes']):g} 分钟; 候选点 {source}",
        f"基准: 现有 {existing} 处设施保留, 其已覆盖的居民不计入新增; 求解状态 {status}",
    )
    # h-centreweb (issue 21): the group counted, and which of the plan's centres were counted as existing.
    weight = params.get("weight")
    if weight:
        label = BASIS_ZH.get(str(weight), str(weight))
        lines += (f"人口口径: 选址目标按{label}计 (图中人数仍为常住人口)",)
    if centres_text:
        lines += (centres_text,)
    return lines


def placement_result_map(
    analysis: Analysis, result: Mapping, *, fields: Mapping[str, str] | None = None, job_id: int | None = None
) -> ProjectMap:
    """The 选址 print map of a stored placement run (:func:`placement_drawing`), its parameters printed."""
    drawing = placement_drawing(analysis, result)
    project, acc = analysis.project, analysis.accessibility
    function = str(drawing.params["function"])
    label = project.standard.function_label(function)
    content = placement_content(
        drawing,
        existing=drawing.existing,
        network=project.network,
        boundary=project.boundary,
        site_areas=drawing.site_areas,
    )
    req = _MapRequest(analysis, function, float(drawing.params["minutes"]), 0, 0.0, 0.0, dict(fields or {}))
    model = MODELS.get(str(drawing.params.get("model")), "").split(" (")[0]
    centres = result.get("centres")
    said = str(centres.get("text_zh") or "") if isinstance(centres, Mapping) else ""
    lines = placement_parameter_lines(
        drawing.params, drawing.summary, existing=len(drawing.existing), centres_text=said
    )
    run = f"页面选址任务 #{job_id}" if job_id is not None else "页面默认参数"

    def text(area_name: str | None, area: shapely.Geometry | None) -> LayoutText:
        return LayoutText(
            title=f"{label} 新增中心选址 ({model})",
            subtitle=f"{req.where(area_name)} — 新增 {len(drawing.sites)} 处, 步行 {req.minutes:g} 分钟 ({run})",
            sources=req.sources,
            assumptions=(*lines, f"步速 {acc.profile.speed_kmh:g} km/h ({acc.profile.source})"),
            **req.fields,
        )

    return ProjectMap(content, text)


#: How each kind of map (:data:`geo.maps.content.MAP_KINDS`) is computed.
MAP_BUILDERS: dict[str, Callable[[_MapRequest], ProjectMap]] = {
    "coverage": _coverage_map,
    "service_areas": _service_area_map,
    "grids": _grids_map,
    "placement": _placement_map,
}


def project_map(
    analysis: Analysis,
    kind: str,
    *,
    function: str = "medical",
    minutes: float = 15.0,
    sites: int = 3,
    min_households: float = settings.GRID_URBAN_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_URBAN_MAX_HOUSEHOLDS,
    fields: Mapping[str, str] | None = None,
    check_note: str = "",
) -> ProjectMap:
    """The content and the words of a ``kind`` map of a project (see :data:`MAP_BUILDERS`).

    Parameters
    ----------
    analysis
        The loaded project (with walking times for ``coverage`` and ``placement``).
    kind
        ``coverage``, ``service_areas``, ``grids`` or ``placement``.
    function
        Service function (coverage, service areas, placement).
    minutes
        Walking budget in minutes (coverage, placement; service areas are drawn at 5/10/15
        up to it).
    sites
        New centres to place (placement, MCLP).
    min_households, max_households
        Grid bounds (grids).
    fields
        ``author``, ``organisation``, ``date``, ``approval_no`` of the page.
    check_note
        The coverage map's line naming the life-circle check's standard and what is 待核实
        (:func:`geo.workflows.check_standard_note`); empty: none.

    Raises
    ------
    InputDataError
        Unknown kind or function, or a map with nothing to draw.
    """
    if kind not in MAP_BUILDERS:
        raise InputDataError(f"地图类型 {kind!r} 无效，可选: {', '.join(MAP_KINDS)} (unknown map kind)")
    analysis.project.standard.function_label(function)  # an unknown function names the allowed ones
    request = _MapRequest(
        analysis, function, minutes, sites, min_households, max_households, dict(fields or {}), check_note
    )
    return MAP_BUILDERS[kind](request)
