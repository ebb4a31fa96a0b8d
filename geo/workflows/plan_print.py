"""A saved plan's own candidates on paper: the map with each candidate numbered and named, and
the table of what each adds (issue 21, "a plan's own candidates can be printed").

:func:`plan_print` evaluates the plan's candidate centres together against the existing
facilities (:func:`geo.access.coverage_tables.plan_scenario`: residents each newly covers per
function, alone and as the only candidate reaching them) and returns the print map
(:class:`~geo.maps.layout.MapContent`, numbered red stars with their names), the words of
the page (the candidates listed in the side panel with what each adds) and the table with
Chinese headers for a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.lines import Line2D

from geo.access.coverage_tables import plan_scenario
from geo.errors import InputDataError
from geo.io.export import plan_layers
from geo.maps.artists import add_lines
from geo.maps.content import _bounds, _draw_base, new_site_stars, source_lines
from geo.maps.layout import LayoutText, MapContent, print_fields
from geo.maps.style import NEW_SITE_AREA_COLOUR, function_colour
from geo.workflows.analysis import Analysis
from geo.workflows.outputs import is_estimate

__all__ = ["PLAN_TABLE_HEADERS", "PlanPrint", "plan_print"]

#: Most candidates one printed plan lists (the panel holds about this many lines).
MAX_PRINT_CANDIDATES = 50
PLAN_TABLE_HEADERS = {
    "number": "序号",
    "name": "候选中心名称",
    "function_zh": "功能",
    "budget_min": "步行时间阈值 (分钟)",
    "newly_covered": "新增覆盖人口 (人)",
    "sole_residents": "仅由此点覆盖人口 (人)",
}


@dataclass(frozen=True)
class PlanPrint:
    """A plan's candidates ready to print: the map, the page's words, the table."""

    content: MapContent
    text: LayoutText
    table: pd.DataFrame


def _candidate_names(layer: gpd.GeoDataFrame) -> list[str]:
    return [str(n).strip() or f"候选中心 {i + 1}" for i, n in enumerate(layer["name"])]


def plan_print(
    analysis: Analysis,
    features: Sequence[Mapping],
    *,
    plan_name: str,
    fields: Mapping[str, str | None] | None = None,
) -> PlanPrint:
    """The print page and table of a plan's candidate centres and what each adds.

    Parameters
    ----------
    analysis
        The project with its walking times (the page's scene).
    features
        The saved plan's features (``kind``, ``name``, GeoJSON ``geometry`` in WGS84).
    plan_name
        The plan's name, for the title.
    fields
        Title block fields for :class:`~geo.maps.layout.LayoutText` (``author``, ``reviewer`` ...).

    Returns
    -------
    PlanPrint

    Raises
    ------
    InputDataError
        The plan has no candidate, or more than :data:`MAX_PRINT_CANDIDATES`.
    """
    layers = plan_layers(list(features))
    candidates = layers.get("candidate")
    if candidates is None or candidates.empty:
        raise InputDataError(f"方案「{plan_name}」中没有候选中心，无法打印 (the plan has no candidate centres)")
    if len(candidates) > MAX_PRINT_CANDIDATES:
        raise InputDataError(
            f"方案中候选中心 {len(candidates)} 个，打印上限 {MAX_PRINT_CANDIDATES} 个 (too many candidates to print)"
        )
    project, acc = analysis.project, analysis.accessibility
    crs = project.network.crs
    names = _candidate_names(candidates)
    points = candidates.geometry.to_numpy()
    points = np.where(shapely.get_type_id(points) == 0, points, shapely.point_on_surface(points))
    sites = gpd.GeoSeries(points, crs=candidates.crs)
    scenario = plan_scenario(acc, analysis.graph, sites)
    table = scenario.table
    own = table[table["candidate"] >= 0]
    together = table[table["candidate"] == -1]
    estimated = is_estimate(acc.demand)
    people = "估算人口" if estimated else "人口"
    items = []
    for i, name in enumerate(names):
        rows = own[(own["candidate"] == i) & (own["newly_covered"] > 0)]
        adds = "、".join(f"{r.function_zh} +{r.newly_covered:,.0f} 人" for r in rows.itertuples())
        items.append(f"{i + 1}. {name}：{adds or '不新增覆盖'}")
    total = "、".join(
        f"{r.function_zh} +{r.newly_covered:,.0f} 人" for r in together.itertuples() if r.newly_covered > 0
    )
    items.append(f"合计（{len(names)} 处共同）：{total or '不新增覆盖'}")
    rows = own.assign(number=own["candidate"].astype(int) + 1, name=[names[int(c)] for c in own["candidate"]])
    out = rows[list(PLAN_TABLE_HEADERS)].rename(columns=PLAN_TABLE_HEADERS)
    if estimated:
        out = out.rename(columns={h: h.replace("人口", "估算人口") for h in out.columns if "人口" in h})
    for column in out.columns:
        if column.endswith("(人)"):
            out[column] = out[column].round(0).astype("Int64")

    site_xy = shapely.get_coordinates(sites.to_crs(crs).to_numpy())
    areas = layers.get("area")
    areas_m = areas.to_crs(crs) if areas is not None else None
    fac = project.facilities

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles = _draw_base(ax, crs=crs, network=project.network, boundary=project.boundary)
        if len(fac):
            fxy = shapely.get_coordinates(shapely.point_on_surface(fac.geometry.to_numpy()))
            colours = [function_colour(str(f)) for f in fac["function"]] if "function" in fac else "black"
            ax.scatter(fxy[:, 0], fxy[:, 1], marker="^", s=28, c=colours, edgecolors="white", linewidths=0.4, zorder=5)
            handles.append(Line2D([], [], marker="^", color="black", linestyle="", label=f"现有设施 ({len(fac)})"))
        if areas_m is not None and len(areas_m):
            rings = shapely.get_exterior_ring(shapely.get_parts(areas_m.geometry.to_numpy()))
            add_lines(ax, rings, color=NEW_SITE_AREA_COLOUR, linewidth=1.2, linestyle=(0, (5, 3)), zorder=6)
            handles.append(Line2D([], [], color=NEW_SITE_AREA_COLOUR, linestyle="--", label="方案中的服务范围"))
        labels = [f" {k + 1} {name}" for k, name in enumerate(names)]
        handles.append(new_site_stars(ax, site_xy, labels, font=font, fontsize=8, label=f"候选中心 ({len(names)} 处)"))
        return handles

    around = project.boundary if project.boundary is not None else acc.demand
    bounds = _bounds(gpd.GeoSeries(shapely.points(site_xy), crs=crs), around, areas_m)
    content = MapContent(
        crs=crs,
        bounds_m=bounds,
        draw=draw,
        legend_title="方案候选中心",
        items_title="候选中心及新增覆盖",
        items=tuple(items),
    )
    prof = acc.profile
    budgets = sorted({float(b) for b in own["budget_min"]})
    text = LayoutText(
        title=f"方案「{plan_name}」候选中心",
        subtitle=f"{project.name} — {len(names)} 处候选中心，各自新增覆盖的{people}",
        sources=source_lines(project.facilities, acc.demand),
        assumptions=(
            f"{prof.label_zh} 步速 {prof.speed_kmh:g} km/h ({prof.source})",
            f"步行时间阈值 {'、'.join(f'{b:g}' for b in budgets)} 分钟（按功能的标准）",
            "新增覆盖: 现有设施步行范围外、候选中心步行范围内的居民；每处候选中心按承担全部功能计",
            *(("人口为按建筑面积估算",) if estimated else ()),
        ),
        **print_fields(overrides=fields),
    )
    return PlanPrint(content, text, out)
