"""Static maps for meetings (PNG/PDF): Chinese labels, legend, scale bar, north arrow.

matplotlib with the Agg backend (no screen); the Chinese font is Noto Sans CJK from
Debian's ``fonts-noto-cjk`` (installed by ``make setup``).  Maps are drawn in the
network's metric CRS so that the scale bar is true.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib import font_manager
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.errors import GeoError

logger = logging.getLogger(__name__)

__all__ = ["CJK_FONTS", "TIME_CLASSES_MIN", "MissingFontError", "cjk_font", "coverage_map"]

#: Fonts tried in order for Chinese labels.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "Source Han Sans SC", "SimHei")
#: Walking-time classes of the demand points (minutes) and their colours (green to red).
TIME_CLASSES_MIN = (5.0, 10.0, 15.0)
TIME_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#d73027")
UNREACHED_COLOUR = "#7f7f7f"
ATTRIBUTION = "底图数据 © OpenStreetMap contributors (ODbL)"


class MissingFontError(GeoError):
    """No font with Chinese glyphs is installed."""


@cache
def cjk_font() -> str:
    """Name of an installed font with Chinese glyphs; :class:`MissingFontError` if none."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    font_manager.fontManager.__init__()  # a font installed after the cache was written
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    raise MissingFontError(
        "没有中文字体，地图无法显示中文；请运行 make setup 安装 fonts-noto-cjk "
        "(no CJK font installed: run `make setup`, which installs Debian's fonts-noto-cjk)"
    )


def _nice_length(span_m: float) -> float:
    """A round scale-bar length about a fifth of the map width."""
    target = span_m / 5.0
    exponent = 10 ** np.floor(np.log10(target))
    for step in (5, 2, 1):
        if step * exponent <= target:
            return float(step * exponent)
    return float(exponent)


def add_scale_bar(ax, *, font: str) -> None:
    """A scale bar in the lower left, in metres or kilometres (the axes are metric)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    x = x0 + 0.04 * (x1 - x0)
    y = y0 + 0.05 * (y1 - y0)
    h = 0.012 * (y1 - y0)
    half = length / 2
    ax.add_patch(plt.Rectangle((x, y), half, h, facecolor="black", edgecolor="black", zorder=10))
    ax.add_patch(plt.Rectangle((x + half, y), half, h, facecolor="white", edgecolor="black", zorder=10))
    label = f"{length / 1000:g} 千米 (km)" if length >= 1000 else f"{length:g} 米 (m)"
    ax.text(x, y + 2 * h, "0", fontsize=7, family=font, zorder=10)
    ax.text(x + length, y + 2 * h, label, fontsize=7, family=font, ha="center", zorder=10)


def add_north_arrow(ax, *, font: str) -> None:
    """A north arrow in the upper right (grid north of the projected CRS)."""
    ax.annotate(
        "北\nN",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.84),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=8,
        family=font,
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9},
        zorder=10,
    )


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
) -> Path:
    """Draw the walking time to the nearest facility of a group, with its gaps.

    Parameters
    ----------
    acc
        :class:`geo.coverage.Accessibility`.
    group
        Function or facility-type key.
    path
        Output ``.png`` or ``.pdf``.
    network
        The :class:`~geo.network.WalkNetwork`, drawn as the base.
    boundary, units
        Study-area polygon and area units, in the network's CRS.
    gaps
        :func:`geo.coverage.gap_cells` of the group; the three worst are outlined and numbered.
    """
    font = cjk_font()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    demand = acc.demand
    minutes = acc.times_s(group) / 60.0
    budget_min = acc.budget_s[group] / 60.0
    name = acc.standard.facility_type(group).name_zh if group in acc.types.groups else None
    if name is None:
        from geo.standards import FUNCTIONS

        name = FUNCTIONS[group]
    fig, ax = plt.subplots(figsize=(8.27, 8.27), dpi=dpi)
    try:
        if network is not None:
            segs = [np.asarray(g.coords) for g in network.edge_geometry]
            from matplotlib.collections import LineCollection

            ax.add_collection(LineCollection(segs, colors="#c8c8c8", linewidths=0.4, zorder=1))
        if boundary is not None:
            gpd.GeoSeries([boundary], crs=demand.crs).boundary.plot(ax=ax, color="#444444", linewidth=1.2, zorder=2)
        if units is not None and len(units):
            units.to_crs(demand.crs).boundary.plot(ax=ax, color="#6a51a3", linewidth=0.8, linestyle="--", zorder=2)
        edges = (0.0, *TIME_CLASSES_MIN, np.inf)
        xy = shapely.get_coordinates(shapely.point_on_surface(demand.geometry.to_numpy()))
        population = demand[acc.basis(group)].to_numpy(float)
        sizes = 6 + 40 * np.sqrt(population / max(population.max(), 1.0)) if population.size else np.zeros(0)
        handles = []
        for k, colour in enumerate(TIME_COLOURS):
            sel = (minutes > edges[k] if k else minutes >= 0) & (minutes <= edges[k + 1]) & np.isfinite(minutes)
            ax.scatter(xy[sel, 0], xy[sel, 1], s=sizes[sel], c=colour, edgecolors="none", zorder=4)
            label = f"{edges[k]:g}-{edges[k + 1]:g} 分钟" if np.isfinite(edges[k + 1]) else f"> {edges[k]:g} 分钟"
            handles.append(Patch(color=colour, label=f"{label} ({population[sel].sum():,.0f} 人)"))
        lost = ~np.isfinite(minutes)
        ax.scatter(xy[lost, 0], xy[lost, 1], s=sizes[lost], c=UNREACHED_COLOUR, edgecolors="none", zorder=4)
        handles.append(Patch(color=UNREACHED_COLOUR, label=f"未到达 not reached ({population[lost].sum():,.0f} 人)"))
        fac = acc.facilities
        column = "function" if group not in acc.types.groups else "type"
        sel = fac[column].astype(str).to_numpy() == group
        if sel.any():
            fxy = shapely.get_coordinates(shapely.point_on_surface(fac.geometry.to_numpy()[sel]))
            ax.scatter(fxy[:, 0], fxy[:, 1], marker="^", s=60, c="black", edgecolors="white", zorder=6)
        handles.append(
            Line2D([], [], marker="^", color="black", linestyle="", label=f"{name}设施 ({int(sel.sum())} 处)")
        )
        worst = gaps[gaps["uncovered"] > 0].head(3) if gaps is not None else None
        if worst is not None and len(worst):
            worst.boundary.plot(ax=ax, color="#d7191c", linewidth=2.0, zorder=5)
            for _, row in worst.iterrows():
                c = row.geometry.centroid
                ax.text(
                    c.x,
                    c.y,
                    str(row["rank"]),
                    color="#d7191c",
                    fontsize=12,
                    weight="bold",
                    family=font,
                    ha="center",
                    va="center",
                    zorder=7,
                )
            handles.append(Patch(facecolor="none", edgecolor="#d7191c", label="缺口前三 three worst gaps"))
        ax.set_aspect("equal")
        ax.autoscale_view()
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        pad = 0.04 * max(x1 - x0, y1 - y0, 1.0)
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        add_scale_bar(ax, font=font)
        add_north_arrow(ax, font=font)
        ax.legend(
            handles=handles,
            loc="lower right",
            fontsize=7,
            prop={"family": font, "size": 7},
            title="步行到最近设施 walking time",
            title_fontproperties={"family": font, "size": 8},
            framealpha=0.9,
        )
        total = population.sum()
        covered = population[minutes <= budget_min].sum()
        pct = 100.0 * covered / total if total else float("nan")
        ax.set_title(
            title or f"{name} 步行可达覆盖: {covered:,.0f} / {total:,.0f} 人 ({pct:.1f}%)", family=font, fontsize=12
        )
        note = (
            f"预算 budget: {acc.budget_note[group]}; 人口口径: {acc.basis(group)}; "
            f"坐标系 {demand.crs.to_string()}; {ATTRIBUTION}; {dt.date.today().isoformat()}"
        )
        fig.text(0.5, 0.015, note, ha="center", fontsize=6, family=font, wrap=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    logger.info("map %s written", path)
    return path
