"""Print maps of a study area: the registry of map kinds, each computed here and drawn by :mod:`geo.maps`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import geopandas as gpd
import shapely

from geo import settings
from geo.access.coverage_tables import gap_cells
from geo.access.service_area import service_areas
from geo.errors import InputDataError
from geo.grids.output import grids_gdf
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
from geo.placement.centers import STATUS_ZH
from geo.workflows.analysis import Analysis, placement_candidates, plan_centres, project_grids
from geo.workflows.outputs import is_estimate

logger = logging.getLogger(__name__)

__all__ = ["MAP_BUILDERS", "ProjectMap", "project_map"]


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
        return replace(words, sources=req.sources)

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

    def text(area_name: str | None, area: shapely.Geometry | None) -> LayoutText:
        status = STATUS_ZH.get(getattr(placement.solution, "status", ""), "").split(" (")[0]
        return LayoutText(
            title=f"{req.label} 新增中心选址 (最大覆盖)",
            subtitle=f"{req.where(area_name)} — 新增 {len(placement.sites)} 处, 步行 {req.minutes:g} 分钟",
            sources=req.sources,
            assumptions=(
                f"模型: 最大覆盖, 现有 {len(fac)} 处设施保留; 求解状态 {status}",
                f"候选点: 路网节点, 间距约 {settings.PLACEMENT_CANDIDATE_SPACING_M:g} 米",
                f"步速 {acc.profile.speed_kmh:g} km/h ({acc.profile.source})",
            ),
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

    Raises
    ------
    InputDataError
        Unknown kind or function, or a map with nothing to draw.
    """
    if kind not in MAP_BUILDERS:
        raise InputDataError(f"地图类型 {kind!r} 无效，可选: {', '.join(MAP_KINDS)} (unknown map kind)")
    analysis.project.standard.function_label(function)  # an unknown function names the allowed ones
    request = _MapRequest(analysis, function, minutes, sites, min_households, max_households, dict(fields or {}))
    return MAP_BUILDERS[kind](request)
