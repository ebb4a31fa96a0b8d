"""The map of compound party coverage: compounds with a branch, without one (named), and unknown.

Draws only compounds (a ledger's points, no person); computes nothing
(:func:`geo.grids.party.party_coverage` does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from matplotlib.lines import Line2D

from geo.errors import InputDataError
from geo.grids.party import PartyCoverage
from geo.maps.content import _bounds, _draw_base
from geo.maps.layout import LayoutText, MapContent, render_layout
from geo.maps.style import COVERED_COLOUR, GAP_COLOUR, UNREACHED_COLOUR

__all__ = ["party_content", "party_map"]

#: Most compounds without a branch named on the map (the rest are in the table).
MAX_LABELS = 60


def party_content(
    coverage: PartyCoverage, *, crs, network=None, boundary: shapely.Geometry | None = None
) -> MapContent:
    """Compounds coloured by whether a party branch covers them; those without one are labelled.

    Parameters
    ----------
    coverage
        :func:`geo.grids.party.party_coverage`.
    crs
        Projected CRS (metres) of the map; the network's.
    network, boundary
        Base layers, in ``crs``.
    """
    frame = coverage.compounds.to_crs(crs)
    pts = shapely.point_on_surface(frame.geometry.to_numpy())
    state = frame["has_branch"].astype("boolean")
    kinds = (
        (state.eq(True).fillna(False).to_numpy(bool), COVERED_COLOUR, "有党支部覆盖"),
        (state.eq(False).fillna(False).to_numpy(bool), GAP_COLOUR, "无党支部"),
        (state.isna().to_numpy(bool), UNREACHED_COLOUR, "台账未填"),
    )

    def draw(ax, font: str, focus: shapely.Geometry | None = None) -> list:
        handles = _draw_base(ax, crs=crs, network=network, boundary=boundary)
        inside = np.ones(len(pts), bool) if focus is None else shapely.within(pts, focus)
        for mask, colour, label in kinds:
            if mask.any():
                ax.scatter(
                    shapely.get_x(pts[mask]), shapely.get_y(pts[mask]), s=28, c=colour, zorder=5, edgecolors="white"
                )
            n = int((mask & inside).sum())
            handles.append(Line2D([], [], marker="o", linestyle="", color=colour, label=f"{label} ({n} 个小区)"))
        missing = np.flatnonzero(kinds[1][0])[:MAX_LABELS]
        for k in missing:
            ax.annotate(
                str(frame["name"].iat[k]),
                (pts[k].x, pts[k].y),
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=6,
                family=font,
                zorder=7,
                annotation_clip=True,
            )
        return handles

    return MapContent(crs=crs, bounds_m=_bounds(frame, boundary), draw=draw, legend_title="小区党组织覆盖")


def party_map(
    coverage: PartyCoverage,
    path: Path,
    *,
    crs,
    network=None,
    boundary: shapely.Geometry | None = None,
    project_name: str = "",
    dpi: int = 150,
) -> Path:
    """The party-coverage map on a print layout (PNG or PDF by the suffix, written atomically).

    Raises
    ------
    InputDataError
        No compound to draw.
    """
    if coverage.compounds.empty:
        raise InputDataError("没有小区，无法绘制党组织覆盖图 (no compound to draw)")
    whole = coverage.rates.iloc[0]
    pct = f"{whole['coverage_pct']:.1f}%" if np.isfinite(whole["coverage_pct"]) else "—"
    text = LayoutText(
        title="小区党组织覆盖",
        subtitle=(
            f"{project_name or '研究区'} — {int(whole['covered'])} / {int(whole['known'])} 个小区有党支部覆盖 ({pct})，"
            f"{int(whole['known'] - whole['covered'])} 个无党支部"
        ),
        sources=("小区台账（县区提供）",),
        assumptions=(
            f"覆盖率 = 有党支部覆盖的小区 / 台账已填写的小区；台账列: {coverage.columns.get('branch', '')}",
            "台账未填的小区不计入分母，单列于表格",
        ),
    )
    content = party_content(coverage, crs=crs, network=network, boundary=boundary)
    return render_layout(content, path, text=text, dpi=dpi)
