"""The programme's wall map ("倒排工期、挂图作战"): centres coloured by status, ringed by lateness.

:func:`programme_content` draws the streets, the boundary, every centre's sites (a linked
centre's sites joined by a line, a hub's stations by spokes from the hub) filled by status
(规划 / 已批复 / 在建 / 已建成) and outlined by lateness against the date of the map (逾期
red, 临近期限 orange), each labelled with its name, phase and target date;
:func:`programme_text` the title, the progress against the targets and the coverage after
each phase.  :func:`geo.maps.layout.render_layout` prints them (A4/A3, PNG/PDF).
The same status colours are used by the web page (``webapp/static/programme.js``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely
from matplotlib.lines import Line2D

from geo.errors import InputDataError
from geo.maps.artists import add_lines
from geo.maps.content import street_lines
from geo.maps.layout import LayoutText, MapContent
from geo.maps.style import BOUNDARY_COLOUR, NETWORK_COLOUR
from geo.workflows.programme import LATENESS, STATUSES, Programme
from geo.workflows.programme_outputs import town_reach_notes

__all__ = ["LATENESS_EDGE", "STATUS_COLOURS", "programme_content", "programme_text", "programme_wall_map"]

#: Fill of a centre by status: grey planned, blue approved, purple building, green open (red and
#: orange are kept for the lateness outlines).
STATUS_COLOURS = {"planned": "#bdbdbd", "approved": "#6baed6", "construction": "#9e7cc1", "open": "#31a354"}
#: Outline of a centre by lateness; ``None``: the ordinary thin dark outline.
LATENESS_EDGE = {"overdue": "#d7191c", "due_soon": "#ff7f00"}
#: Marker per site role.
ROLE_MARKER = {"main": "o", "station": "s"}


def programme_content(
    programme: Programme,
    late: pd.DataFrame,
    *,
    crs,
    network=None,
    boundary: shapely.Geometry | None = None,
) -> MapContent:
    """The programme's centres on a map in ``crs`` (projected, metres).

    Parameters
    ----------
    programme
        The centres and their sites.
    late
        :func:`geo.workflows.programme.lateness` of it (one row per centre, same order).
    crs
        The map's projected CRS (the network's).
    network, boundary
        Streets and study-area outline (``crs``) drawn under the centres.
    """
    sites = programme.centres.sites.to_crs(crs)
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    idx = programme.centres.centre_index
    status = late["status"].to_numpy(object)[idx]
    lateness = late["lateness"].to_numpy(object)[idx]
    roles = sites["role"].to_numpy(object)
    kinds = sites["kind"].to_numpy(object)
    if not len(xy):
        raise InputDataError("没有可画的中心站点 (no centre sites to draw)")
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    pad = max(0.08 * max(x1 - x0, y1 - y0), 300.0)
    bounds = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    if boundary is not None and not boundary.is_empty:
        bx0, by0, bx1, by1 = boundary.bounds
        bounds = (min(bounds[0], bx0), min(bounds[1], by0), max(bounds[2], bx1), max(bounds[3], by1))

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles: list = []
        if network is not None:
            add_lines(ax, street_lines(ax, network), color=NETWORK_COLOUR, linewidth=0.4, zorder=1)
            handles.append(Line2D([], [], color=NETWORK_COLOUR, linewidth=1.2, label="步行路网"))
        if boundary is not None:
            add_lines(ax, [boundary], color=BOUNDARY_COLOUR, linewidth=1.2, zorder=2)
            handles.append(Line2D([], [], color=BOUNDARY_COLOUR, linewidth=1.2, label="研究区边界"))
        # A multi-site centre's sites joined: a linked centre in a chain, a hub's stations to the hub.
        links: list[shapely.LineString] = []
        for c in np.unique(idx[kinds != "single"]):
            mine = np.flatnonzero(idx == c)
            if kinds[mine[0]] == "hub":
                hub = mine[roles[mine] == "main"][0]
                links.extend(shapely.LineString([xy[hub], xy[s]]) for s in mine if s != hub)
            else:
                links.append(shapely.LineString(xy[mine]))
        if links:
            add_lines(ax, links, color="#555555", linewidth=1.0, linestyle=(0, (4, 2)), zorder=5)
            handles.append(Line2D([], [], color="#555555", linestyle="--", label="同一中心的站点"))
        for key, colour in STATUS_COLOURS.items():
            for role, marker in ROLE_MARKER.items():
                sel = (status == key) & (roles == role)
                if not sel.any():
                    continue
                edge = np.array([LATENESS_EDGE.get(k, "#222222") for k in lateness[sel]], dtype=object)
                width = np.where(np.isin(lateness[sel], list(LATENESS_EDGE)), 2.6, 0.8)
                ax.scatter(
                    xy[sel, 0],
                    xy[sel, 1],
                    s=150 if role == "main" else 70,
                    marker=marker,
                    c=colour,
                    edgecolors=list(edge),
                    linewidths=width,
                    zorder=7,
                )
            n = int((late["status"] == key).sum())
            handles.append(
                Line2D(
                    [], [], marker="o", color=colour, markeredgecolor="#222222", markersize=9, linestyle="",
                    label=f"{STATUSES[key]} ({n} 个)",
                )
            )  # fmt: skip
        for key, colour in LATENESS_EDGE.items():
            n = int((late["lateness"] == key).sum())
            handles.append(
                Line2D(
                    [], [], marker="o", color="white", markeredgecolor=colour, markeredgewidth=2.6, markersize=9,
                    linestyle="", label=f"{LATENESS[key]} ({n} 个)",
                )
            )  # fmt: skip
        if (roles == "station").any():
            handles.append(
                Line2D([], [], marker="s", color="#bdbdbd", markeredgecolor="#222222", linestyle="", label="服务站点")
            )
        # One label per centre, at its main (first) site: name, phase and target date.
        first = np.unique(idx, return_index=True)[1]
        for s in first:
            row = late.iloc[int(idx[s])]
            when = row["target_date"].isoformat() if row["target_date"] is not None else "未定期限"
            ax.annotate(
                f"{row['centre']}\n第{int(row['phase'])}期 · {when}",
                xy=(xy[s, 0], xy[s, 1]),
                xytext=(9, 0),
                textcoords="offset points",
                fontsize=6.5,
                family=font,
                color=LATENESS_EDGE.get(str(row["lateness"]), "#111111"),
                ha="left",
                va="center",
                zorder=9,
                annotation_clip=True,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
            )
        return handles

    return MapContent(crs=crs, bounds_m=bounds, draw=draw, legend_title="邻里中心建设状态")


def programme_text(
    late: pd.DataFrame,
    progress: pd.DataFrame,
    coverage: pd.DataFrame | None,
    *,
    today: dt.date,
    project_name: str,
    assumption: str = "",
    sources: tuple[str, ...] = (),
    **fields,
) -> LayoutText:
    """Title, subtitle and the programme's figures beside the wall map.

    ``progress`` is :func:`geo.workflows.programme.progress`, ``coverage``
    :func:`geo.workflows.programme.programme_coverage` (or ``None``); ``assumption`` states the
    travel mode and budget the coverage rests on.  ``fields`` go to :class:`LayoutText`.
    """
    counts = late["status"].value_counts()
    parts = "，".join(f"{STATUSES[k]} {int(counts.get(k, 0))}" for k in ("open", "construction", "approved", "planned"))
    lines = [f"截至 {today.isoformat()}：共 {len(late)} 个中心（{parts}）"]
    overdue = late[late["lateness"] == "overdue"]
    if len(overdue):
        names = "、".join(f"{r.centre}（逾期 {r.days_late:.0f} 天）" for r in overdue.itertuples())
        lines.append(f"逾期：{names}")
    for r in progress.itertuples():
        lines.append(
            f"目标「{r.target}」：已建成 {r.open}，尚差 {r.gap}；期限前计划完成 {r.scheduled} 个，{r.verdict_zh}"
        )
    if coverage is not None and len(coverage):
        if assumption:
            lines.append(f"覆盖口径：{assumption}")
        lines += town_reach_notes(coverage)  # h-rural (issue 21): a hub's town centre in the town circle's mode
        for stage, rows in coverage.groupby("stage", sort=False):
            pct = "，".join(f"{r.function_zh} {r.covered_pct_after:.0f}%" for r in rows.itertuples())
            lines.append(f"{stage}：{pct}")
    return LayoutText(
        title="邻里中心建设进度图",
        subtitle=f"{project_name} — 倒排工期、挂图作战（截至 {today.isoformat()}）",
        assumptions=tuple(lines),
        sources=sources,
        date=fields.pop("date", "") or today.isoformat(),
        **fields,
    )


def programme_wall_map(
    project,
    programme: Programme,
    late: pd.DataFrame,
    progress: pd.DataFrame,
    coverage: pd.DataFrame | None,
    *,
    today: dt.date,
    assumption: str = "",
    sources: tuple[str, ...] = (),
    **fields,
) -> tuple[MapContent, LayoutText]:
    """The wall map of a project's programme: :func:`programme_content` on the project's streets
    and boundary, and :func:`programme_text` under its name, for
    :func:`geo.maps.layout.render_layout` (the batch script and the web page print the same)."""
    content = programme_content(
        programme, late, crs=project.network.crs, network=project.network, boundary=project.boundary
    )
    text = programme_text(
        late,
        progress,
        coverage,
        today=today,
        project_name=project.name,
        assumption=assumption,
        sources=sources,
        **fields,
    )
    return content, text
