"""What each meeting map shows: coverage, service areas, grids and placement.

Each ``*_content`` function returns a :class:`geo.maps.layout.MapContent` (the layers and
their legend, drawn in the network's metric CRS so that the scale bar is true) and each
``*_text`` the :class:`geo.maps.layout.LayoutText` around it (title, assumptions,
sources); :func:`geo.maps.layout.render_layout` puts them on an A4/A3 page.
:func:`coverage_map` does both for the coverage of one function.  Colours come from
:mod:`geo.maps.style`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.errors import InputDataError
from geo.maps.artists import add_lines, add_polygons
from geo.maps.layout import OSM_CREDIT, LayoutText, MapContent, render_layout
from geo.maps.style import (
    BOUNDARY_COLOUR,
    COVERED_COLOUR,
    GAP_COLOUR,
    GRID_COLOURS,
    GRID_EDGE_COLOUR,
    LINK_COLOUR,
    NETWORK_COLOUR,
    NEW_SITE_AREA_COLOUR,
    NEW_SITE_COLOUR,
    NEWLY_COVERED_COLOUR,
    RING_COLOURS,
    TIME_CLASSES_MIN,
    TIME_COLOURS,
    UNIT_COLOUR,
    UNREACHED_COLOUR,
    function_colour,
)

logger = logging.getLogger(__name__)

__all__ = [
    "MAP_KINDS",
    "coverage_content",
    "coverage_map",
    "coverage_text",
    "grids_content",
    "inside_mask",
    "linkage_content",
    "placement_content",
    "service_area_content",
    "source_lines",
]

#: The maps a layout can show (``scripts/export_map.py --map``, the web app's buttons).
MAP_KINDS = {
    "coverage": "步行可达覆盖",
    "service_areas": "设施服务范围",
    "grids": "管理网格",
    "placement": "新增中心选址",
}


def _function_name(acc, group: str) -> str:
    if group in acc.types.groups:
        return acc.standard.facility_type(group).name_zh
    return acc.standard.function_label(group)


def _estimated(demand) -> bool:
    """Whether the residents are estimates (from buildings or a population grid: an ``assumption`` column)."""
    return "assumption" in demand.columns and bool(demand["assumption"].fillna("").astype(str).str.strip().ne("").any())


def _bounds(*frames_or_geoms) -> tuple[float, float, float, float]:
    boxes = []
    for item in frames_or_geoms:
        if item is None:
            continue
        if isinstance(item, gpd.GeoDataFrame | gpd.GeoSeries):
            if len(item):
                boxes.append(item.total_bounds)
        elif isinstance(item, shapely.Geometry):
            if not item.is_empty:
                boxes.append(np.asarray(item.bounds))
        else:
            boxes.append(np.asarray(item, dtype=float))
    if not boxes:
        raise InputDataError("地图没有可画的内容 (nothing to draw: every layer is empty)")
    b = np.vstack(boxes)
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    pad = 0.03 * max(x1 - x0, y1 - y0, 100.0)
    return (float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad))


#: Above this many features in the frame, a layer is drawn into a PDF or SVG as an image at the
#: page's resolution: a county's half a million street pieces are ten megabytes of vector paths
#: that no printer or projector shows apart.
RASTER_ABOVE = 20_000
#: Street lines are simplified to this much on paper (millimetres): below what a print shows.
PAPER_TOLERANCE_MM = 0.1


def paper_metres_per_mm(ax) -> float:
    """Ground metres per millimetre of paper in ``ax`` (its limits set to the map's extent)."""
    x0, x1 = ax.get_xlim()
    width_mm = ax.get_position().width * ax.figure.get_figwidth() * 25.4
    return abs(x1 - x0) / width_mm if width_mm > 0 else 0.0


def street_lines(ax, network) -> np.ndarray:
    """The network's streets in the frame, simplified to :data:`PAPER_TOLERANCE_MM` at the map's scale."""
    x0, x1 = sorted(ax.get_xlim())
    y0, y1 = sorted(ax.get_ylim())
    geoms = network.edge_geometry
    bx0, by0, bx1, by1 = shapely.total_bounds(geoms)
    if not (x0 <= bx0 and y0 <= by0 and bx1 <= x1 and by1 <= y1):  # a part of the network in the frame
        geoms = geoms[shapely.intersects(geoms, shapely.box(x0, y0, x1, y1))]
    # Plain Douglas-Peucker: lines drawn on paper need no topology kept (and it takes a third of the time).
    return shapely.simplify(geoms, PAPER_TOLERANCE_MM * paper_metres_per_mm(ax), preserve_topology=False)


def _draw_base(ax, *, crs, network=None, boundary=None, units=None) -> list:
    handles = []
    if network is not None:
        lines = street_lines(ax, network)
        add_lines(ax, lines, color=NETWORK_COLOUR, linewidth=0.4, zorder=1, rasterized=len(lines) > RASTER_ABOVE)
        handles.append(Line2D([], [], color=NETWORK_COLOUR, linewidth=1.2, label="步行路网"))
    if boundary is not None:
        add_lines(ax, [boundary], color=BOUNDARY_COLOUR, linewidth=1.2, zorder=2)
        handles.append(Line2D([], [], color=BOUNDARY_COLOUR, linewidth=1.2, label="研究区边界"))
    if units is not None and len(units):
        add_lines(ax, units.to_crs(crs).geometry.to_numpy(), color=UNIT_COLOUR, linewidth=0.8, linestyle="--", zorder=2)
        handles.append(Line2D([], [], color=UNIT_COLOUR, linewidth=0.8, linestyle="--", label="分区"))
    return handles


def _worst(gaps: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    return gaps[gaps["uncovered"] > 0].head(3) if gaps is not None else None


def coverage_content(
    acc,
    group: str,
    *,
    network=None,
    boundary: shapely.Geometry | None = None,
    units: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
) -> MapContent:
    """The walking time from every demand point to the nearest facility of ``group``, with its gaps.

    Parameters
    ----------
    acc
        :class:`geo.access.coverage.Accessibility` (demand in the network's metric CRS).
    group
        Function or facility-type key.
    network
        The :class:`~geo.network.graph.WalkNetwork`, drawn as the base.
    boundary, units
        Study-area polygon and area units (boundary in the demand's CRS; units any CRS).
    gaps
        :func:`geo.access.coverage_tables.gap_cells` of the group; the three worst are outlined and numbered.
    """
    demand = acc.demand
    crs = demand.crs
    minutes = acc.times_s(group) / 60.0
    name = _function_name(acc, group)
    xy = shapely.get_coordinates(shapely.point_on_surface(demand.geometry.to_numpy()))
    population = demand[acc.basis(group)].to_numpy(float)
    fac = acc.facilities
    column = "function" if group not in acc.types.groups else "type"
    sel_fac = fac[column].astype(str).to_numpy() == group

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles = _draw_base(ax, crs=crs, network=network, boundary=boundary, units=units)
        edges = (0.0, *TIME_CLASSES_MIN, np.inf)
        scale = max(population.max(), 1.0) if population.size else 1.0
        sizes = 6 + 40 * np.sqrt(population / scale) if population.size else np.zeros(0)
        here = inside_mask(demand, focus)  # legend counts: the focus area's residents
        many = xy.shape[0] > RASTER_ABOVE
        for k, colour in enumerate(TIME_COLOURS):
            sel = (minutes > edges[k] if k else minutes >= 0) & (minutes <= edges[k + 1]) & np.isfinite(minutes)
            ax.scatter(xy[sel, 0], xy[sel, 1], s=sizes[sel], c=colour, edgecolors="none", zorder=4, rasterized=many)
            label = f"{edges[k]:g}-{edges[k + 1]:g} 分钟" if np.isfinite(edges[k + 1]) else f"> {edges[k]:g} 分钟"
            handles.append(Patch(color=colour, label=f"{label} ({population[sel & here].sum():,.0f} 人)"))
        lost = ~np.isfinite(minutes)
        ax.scatter(
            xy[lost, 0], xy[lost, 1], s=sizes[lost], c=UNREACHED_COLOUR, edgecolors="none", zorder=4, rasterized=many
        )
        handles.append(Patch(color=UNREACHED_COLOUR, label=f"未到达 ({population[lost & here].sum():,.0f} 人)"))
        if sel_fac.any():
            fxy = shapely.get_coordinates(shapely.point_on_surface(fac.geometry.to_numpy()[sel_fac]))
            ax.scatter(fxy[:, 0], fxy[:, 1], marker="^", s=60, c="black", edgecolors="white", zorder=6)
        handles.append(
            Line2D([], [], marker="^", color="black", linestyle="", label=f"{name}设施 ({int(sel_fac.sum())} 处)")
        )
        worst = _worst(gaps)
        if worst is not None and len(worst):
            add_lines(ax, worst.geometry.to_numpy(), color=GAP_COLOUR, linewidth=2.0, zorder=5)
            for _, row in worst.iterrows():
                c = row.geometry.centroid
                ax.text(
                    c.x,
                    c.y,
                    str(row["rank"]),
                    color=GAP_COLOUR,
                    fontsize=12,
                    weight="bold",
                    family=font,
                    ha="center",
                    va="center",
                    zorder=7,
                    clip_on=True,
                )
            handles.append(Patch(facecolor="none", edgecolor=GAP_COLOUR, label="缺口前三"))
        return handles

    return MapContent(
        crs=crs,
        bounds_m=_bounds(demand, fac[sel_fac] if sel_fac.any() else None, boundary, _worst(gaps)),
        draw=draw,
        legend_title=f"步行到最近{name}设施的时间",
    )


def source_lines(facilities: pd.DataFrame | None, demand: pd.DataFrame | None = None) -> tuple[str, ...]:
    """The data-source lines of a map: streets from OSM, facilities from OSM and/or the ledgers by file name.

    ``facilities`` carries a ``source`` column (``OpenStreetMap`` or a ledger's file name);
    residents estimated from OSM buildings (``demand`` source ``buildings``) are credited
    to OSM too.
    """
    lines = [f"步行路网: {OSM_CREDIT}"]
    names = (
        sorted({str(v) for v in facilities["source"].dropna()})
        if facilities is not None and "source" in facilities
        else []
    )
    ledgers = [n for n in names if n != "OpenStreetMap"]
    if ledgers:
        lines.append(f"设施: 台账 {'、'.join(ledgers)}" + (f"; 另有 {OSM_CREDIT}" if "OpenStreetMap" in names else ""))
    else:
        lines.append(f"设施: {OSM_CREDIT}")
    if demand is not None and "source" in demand and (demand["source"] == "buildings").any():
        lines.append(f"建筑 (人口估算): {OSM_CREDIT}")
    return tuple(lines)


def coverage_text(
    acc,
    group: str,
    *,
    project_name: str,
    area_name: str | None = None,
    area_mask: np.ndarray | None = None,
    boundary_source: str | None = None,
    **fields,
) -> LayoutText:
    """Title, subtitle (covered residents), assumptions and sources of a coverage map.

    ``area_mask`` (bool per demand point) restricts the counted residents to one area.
    ``fields`` go to :class:`~geo.maps.layout.LayoutText` (``author``, ``organisation``,
    ``date``, ``approval_no``).
    """
    from geo.access.coverage import BASIS_ZH

    name = _function_name(acc, group)
    minutes = acc.times_s(group) / 60.0
    budget_min = acc.budget_s[group] / 60.0
    population = acc.demand[acc.basis(group)].to_numpy(float)
    if area_mask is not None:
        minutes, population = minutes[area_mask], population[area_mask]
    total = population.sum()
    covered = population[minutes <= budget_min].sum()
    pct = f"{100.0 * covered / total:.1f}%" if total else "无居民"
    prof = acc.profile
    where = f"{project_name} · {area_name}" if area_name else project_name
    people = "估算人口 " if _estimated(acc.demand) else " "
    assumptions = (
        f"出行方式: {prof.label_zh}, 步速 {prof.speed_kmh:g} km/h ({prof.source})",
        f"步行时间阈值: {budget_min:g} 分钟 ≈ {prof.metres_in(budget_min):.0f} 米; {acc.budget_note[group]}",
        f"标准: {acc.standard.code} {acc.standard.title_zh}",
        f"人口口径: {BASIS_ZH.get(acc.basis(group), acc.basis(group))}; 点的大小与人口成正比",
        "; ".join(sorted({str(a) for a in acc.demand.get("assumption", []) if isinstance(a, str)}))[:300],
    )
    sources = source_lines(acc.facilities, acc.demand)
    if boundary_source:
        sources = (*sources, f"边界: {boundary_source}")
    return LayoutText(
        title=f"{name} 步行{budget_min:g}分钟覆盖",
        subtitle=f"{where} — 覆盖{people}{covered:,.0f} / {total:,.0f} 人 ({pct})",
        sources=sources,
        assumptions=tuple(a for a in assumptions if a),
        **fields,
    )


def service_area_content(
    areas: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    function: str,
    network=None,
    boundary: shapely.Geometry | None = None,
) -> MapContent:
    """Service areas (rings 0-5, 5-10, 10-15 minutes) of a function's facilities.

    Parameters
    ----------
    areas
        :func:`geo.access.service_area.service_areas` with ``rings=True`` (``min_from``,
        ``minutes``) or nested areas (``minutes``), in a metric CRS.
    facilities
        The function's facility points (any CRS).
    """
    from geo.access.standards import FUNCTIONS

    crs = areas.crs
    fac = facilities.to_crs(crs)
    colour = function_colour(function)
    label = FUNCTIONS.get(function, function)  # an extra ("1+6+X") function's key is its name

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles = _draw_base(ax, crs=crs, network=network, boundary=boundary)
        order = np.argsort(-areas["minutes"].to_numpy(float))
        ring_rank = {m: k for k, m in enumerate(sorted(areas["minutes"].unique()))}
        for k in order:
            row = areas.iloc[[k]]
            m = float(row["minutes"].iloc[0])
            c = RING_COLOURS[min(ring_rank[m], len(RING_COLOURS) - 1)]
            add_polygons(ax, row.geometry.to_numpy(), color=c, alpha=0.55, edgecolor=c, linewidth=0.5, zorder=3)
        for m, rank in sorted(ring_rank.items()):
            lo = areas.loc[areas["minutes"] == m, "min_from"].iloc[0] if "min_from" in areas else 0.0
            area_km2 = areas.loc[areas["minutes"] == m].geometry.area.sum() / 1e6
            handles.append(
                Patch(
                    color=RING_COLOURS[min(rank, len(RING_COLOURS) - 1)],
                    alpha=0.55,
                    label=f"{lo:g}-{m:g} 分钟 ({area_km2:.2f} km²)",
                )
            )
        if len(fac):
            fxy = shapely.get_coordinates(shapely.point_on_surface(fac.geometry.to_numpy()))
            ax.scatter(fxy[:, 0], fxy[:, 1], marker="o", s=30, c=colour, edgecolors="white", zorder=6)
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                color=colour,
                linestyle="",
                label=f"{label}设施 ({len(fac)} 处)",
            )
        )
        return handles

    return MapContent(
        crs=crs,
        bounds_m=_bounds(areas, fac, boundary),
        draw=draw,
        legend_title=f"{label} 步行服务范围",
    )


def grids_content(
    grids: gpd.GeoDataFrame,
    *,
    min_households: float,
    max_households: float,
    network=None,
    boundary: shapely.Geometry | None = None,
    estimated: bool = False,
) -> MapContent:
    """Management grids coloured by whether their households are within the bounds, labelled with their number.

    Parameters
    ----------
    grids
        :func:`geo.grids.output.grids_gdf` (``code``, ``households``), metric CRS.
    min_households, max_households
        The bounds a grid should keep (户).
    estimated
        The households are estimates (from buildings): the legend says 估算户数.
    """
    crs = grids.crs
    hh = grids["households"].to_numpy(float)
    kinds = np.where(hh < min_households, 0, np.where(hh > max_households, 2, 1))
    labels = (f"少于 {min_households:g} 户", f"{min_households:g}-{max_households:g} 户", f"多于 {max_households:g} 户")

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles = _draw_base(ax, crs=crs, network=network, boundary=boundary)
        here = inside_mask(grids, focus)
        for k, c in enumerate(GRID_COLOURS):
            part = grids[kinds == k]
            if len(part):
                add_polygons(
                    ax,
                    part.geometry.to_numpy(),
                    color=c,
                    alpha=0.7,
                    edgecolor=GRID_EDGE_COLOUR,
                    linewidth=0.6,
                    zorder=3,
                )
            n = int(((kinds == k) & here).sum())
            handles.append(Patch(facecolor=c, alpha=0.7, edgecolor=GRID_EDGE_COLOUR, label=f"{labels[k]} ({n} 格)"))
        pts = shapely.point_on_surface(grids.geometry.to_numpy())
        for p, code in zip(pts, grids["code"].astype(str), strict=True):
            ax.text(p.x, p.y, code[-3:], fontsize=6, family=font, ha="center", va="center", zorder=7, clip_on=True)
        handles.append(Line2D([], [], linestyle="", label="标注: 网格编码末三位"))
        return handles

    title = "网格估算户数" if estimated else "网格户数"
    return MapContent(crs=crs, bounds_m=_bounds(grids, boundary), draw=draw, legend_title=title)


def linkage_content(
    linkage,
    *,
    members: gpd.GeoSeries,
    households: gpd.GeoSeries,
    grids: gpd.GeoDataFrame | None = None,
    network=None,
) -> MapContent:
    """The "1+10" linkage: each member's links, members short of K and households left unlinked.

    Parameters
    ----------
    linkage
        :class:`geo.grids.linkage.Linkage` of these members and households.
    members, households
        Their points, in a projected CRS in metres (the walk network's).
    grids
        Optional grid polygons with ``code``: outlined and labelled with the code's last three digits.

    Links are drawn as straight lines from the member to the household (the walking time
    itself follows the streets); the legend counts members and households in the focus.
    """
    crs = households.crs
    mxy = shapely.get_coordinates(members.to_numpy())
    hxy = shapely.get_coordinates(households.to_numpy())
    short = linkage.member_count < linkage.k
    linked = linkage.household_member >= 0
    grids = grids.to_crs(crs) if grids is not None and len(grids) else None

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles = _draw_base(ax, crs=crs, network=network)
        m_here, h_here = inside_mask(members, focus), inside_mask(households, focus)
        if grids is not None:
            add_lines(ax, grids.geometry.boundary.to_numpy(), color=GRID_EDGE_COLOUR, linewidth=0.8, zorder=3)
            pts = shapely.point_on_surface(grids.geometry.to_numpy())
            for pt, code in zip(pts, grids["code"].astype(str), strict=True):
                ax.text(
                    pt.x, pt.y, code[-3:], fontsize=6, family=font, ha="center", va="center", zorder=9, clip_on=True
                )
            handles.append(Line2D([], [], color=GRID_EDGE_COLOUR, linewidth=0.8, label="网格（标注编码末三位）"))
        if linked.any():
            h = np.flatnonzero(linked)
            segs = shapely.linestrings(np.stack([mxy[linkage.household_member[h]], hxy[h]], axis=1))
            add_lines(ax, segs, color=LINK_COLOUR, linewidth=0.4, zorder=4, rasterized=h.size > RASTER_ABOVE)
            ax.scatter(hxy[h, 0], hxy[h, 1], s=3, c=LINK_COLOUR, linewidths=0, zorder=5)
            words = f"已联系住户 ({int((linked & h_here).sum()):,} 户；连线为示意，步行时间按路网)"
            handles.append(Line2D([], [], color=LINK_COLOUR, marker=".", linewidth=0.6, label=words))
        if (~linked).any():
            h = np.flatnonzero(~linked)
            ax.scatter(hxy[h, 0], hxy[h, 1], s=10, marker="x", c=GAP_COLOUR, linewidths=0.8, zorder=6)
            words = f"未联系住户 ({int((~linked & h_here).sum()):,} 户)"
            handles.append(Line2D([], [], color=GAP_COLOUR, marker="x", linestyle="", label=words))
        for sel, colour, marker, words in (
            (~short, COVERED_COLOUR, "o", f"联系满 {linkage.k} 户的党员"),
            (short, NEW_SITE_AREA_COLOUR, "^", f"联系不足 {linkage.k} 户的党员"),
        ):
            if sel.any():
                ax.scatter(mxy[sel, 0], mxy[sel, 1], s=28, marker=marker, c=colour, edgecolors="black", zorder=8)
                label = f"{words} ({int((sel & m_here).sum()):,} 人)"
                handles.append(Line2D([], [], color=colour, marker=marker, linestyle="", label=label))
        return handles

    bounds = _bounds(members, households, grids)
    return MapContent(crs=crs, bounds_m=bounds, draw=draw, legend_title=f"“1+{linkage.k}”联系户")


def new_site_stars(ax, xy: np.ndarray, labels: list[str], *, font: str, fontsize: float, label: str) -> Line2D:
    """New or candidate centres as red stars at ``xy`` (projected), each with its label; the legend entry."""
    if len(xy):
        ax.scatter(xy[:, 0], xy[:, 1], marker="*", s=220, c=NEW_SITE_COLOUR, edgecolors="black", zorder=8)
        for (x, y), text in zip(xy, labels, strict=True):
            ax.text(
                x,
                y,
                text,
                fontsize=fontsize,
                weight="bold",
                family=font,
                color=NEW_SITE_COLOUR,
                ha="left",
                va="bottom",
                zorder=9,
                clip_on=True,
            )
    return Line2D([], [], marker="*", color=NEW_SITE_COLOUR, markersize=12, linestyle="", label=label)


def placement_content(
    placement,
    *,
    existing: gpd.GeoDataFrame | None = None,
    network=None,
    boundary: shapely.Geometry | None = None,
    site_areas: gpd.GeoDataFrame | None = None,
) -> MapContent:
    """New center sites (ranked) and the residents they newly cover.

    Parameters
    ----------
    placement
        :class:`geo.placement.centers.Placement` (sites and assignment in the network CRS),
        or anything with those two frames (:class:`geo.workflows.maps.PlacementDrawing`).
    existing
        Existing facilities drawn as triangles (any CRS).
    site_areas
        The new sites' walking service areas (any CRS, ``minutes``), drawn as dashed outlines
        (their outer edges: the holes of a street-following area would clutter the page).
    """
    sites = placement.sites
    assign = placement.assignment
    crs = assign.crs
    before = assign["covered_before"].to_numpy(bool)
    after = assign["covered_after"].to_numpy(bool)
    residents = assign["residents"].to_numpy(float) if "residents" in assign else np.ones(len(assign))
    xy = shapely.get_coordinates(shapely.point_on_surface(assign.geometry.to_numpy()))
    classes = (
        (before, COVERED_COLOUR, "原已覆盖"),
        (~before & after, NEWLY_COVERED_COLOUR, "新增覆盖"),
        (~after, UNREACHED_COLOUR, "仍未覆盖"),
    )

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles = _draw_base(ax, crs=crs, network=network, boundary=boundary)
        sizes = 6 + 40 * np.sqrt(residents / max(residents.max(), 1.0)) if len(residents) else np.zeros(0)
        here = inside_mask(assign, focus)
        for sel, c, label in classes:
            ax.scatter(
                xy[sel, 0],
                xy[sel, 1],
                s=sizes[sel],
                c=c,
                edgecolors="none",
                zorder=4,
                rasterized=len(xy) > RASTER_ABOVE,
            )
            handles.append(Patch(color=c, label=f"{label} ({residents[sel & here].sum():,.0f} 人)"))
        if existing is not None and len(existing):
            exy = shapely.get_coordinates(shapely.point_on_surface(existing.to_crs(crs).geometry.to_numpy()))
            ax.scatter(exy[:, 0], exy[:, 1], marker="^", s=40, c="black", edgecolors="white", zorder=6)
            handles.append(Line2D([], [], marker="^", color="black", linestyle="", label=f"现有设施 ({len(existing)})"))
        if site_areas is not None and len(site_areas):
            add_lines(
                ax,
                shapely.get_exterior_ring(shapely.get_parts(site_areas.to_crs(crs).geometry.to_numpy())),
                color=NEW_SITE_AREA_COLOUR,
                linewidth=1.2,
                zorder=7,
                linestyle=(0, (5, 3)),
            )
            budget = float(site_areas["minutes"].max()) if "minutes" in site_areas else None
            words = f"新增中心 {budget:g} 分钟步行服务范围" if budget is not None else "新增中心步行服务范围"
            handles.append(Line2D([], [], color=NEW_SITE_AREA_COLOUR, linestyle="--", label=words))
        sxy = shapely.get_coordinates(shapely.point_on_surface(sites.to_crs(crs).geometry.to_numpy()))
        handles.append(
            new_site_stars(
                ax,
                sxy,
                [f" {rank}" for rank in sites["rank"]],
                font=font,
                fontsize=10,
                label=f"新增中心 (按贡献排序, {len(sites)} 处)",
            )
        )
        return handles

    return MapContent(crs=crs, bounds_m=_bounds(assign, sites, boundary), draw=draw, legend_title="新增中心选址")


def coverage_map(
    acc,
    group: str,
    path: Path,
    *,
    network=None,
    boundary: shapely.Geometry | None = None,
    units: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    dpi: int = 150,
    paper: str = "A4",
    orientation: str = "landscape",
    project_name: str = "",
    text: LayoutText | None = None,
) -> Path:
    """Draw the walking time to the nearest facility of a group, with its gaps, on a print layout.

    Parameters
    ----------
    acc
        :class:`geo.access.coverage.Accessibility`.
    group
        Function or facility-type key.
    path
        Output ``.png`` or ``.pdf`` (written atomically).
    network
        The :class:`~geo.network.graph.WalkNetwork`, drawn as the base.
    boundary, units
        Study-area polygon and area units, in the network's CRS.
    gaps
        :func:`geo.access.coverage_tables.gap_cells` of the group; the three worst are outlined and numbered.
    title
        Replaces the default title.
    paper, orientation
        ``A4``/``A3``, ``landscape``/``portrait``.
    text
        The whole :class:`~geo.maps.layout.LayoutText` (default from :func:`coverage_text`).
    """
    content = coverage_content(acc, group, network=network, boundary=boundary, units=units, gaps=gaps)
    if text is None:
        text = coverage_text(acc, group, project_name=project_name or "研究区")
    if title:
        text = replace(text, title=title)
    return render_layout(content, path, text=text, paper=paper, orientation=orientation, dpi=dpi)


def inside_mask(frame: gpd.GeoDataFrame, area: shapely.Geometry | None) -> np.ndarray:
    """bool per row: the row's representative point lies in ``area`` (all rows when ``area`` is None)."""
    if area is None:
        return np.ones(len(frame), bool)
    return shapely.contains_xy(area, shapely.get_coordinates(shapely.point_on_surface(frame.geometry.to_numpy())))
