"""The grids and their micro-grids as files for a county: two layers and a list (issue 20, h-micro2).

:func:`grid_levels_export` makes, from the grids and the micro-grids (when there are any) and the
people of the organisation (:func:`geo.grids.orgchart.organisation_nodes`: the plans' own fields
and a roster placed in them), the two layers of a GeoPackage (网格, 微网格: polygons with codes,
households, residents, their parent and the names of their heads) and the sheets of an XLSX
list (说明, 网格, 微网格) with Chinese headers and values, codes as text, households and residents
as whole numbers.  Names are masked (张*) unless ``show_personal`` (the holder's authorisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.grids.levels import LevelPlan
from geo.grids.orgchart import LEVELS_ZH, organisation_nodes
from geo.grids.output import grids_gdf
from geo.grids.plan import GridPlan
from geo.workflows.outputs import chinese_frame, official_table

__all__ = ["GRID_LEVEL_HEADERS", "MICRO_LEVEL_HEADERS", "GridLevelsExport", "grid_levels_export"]

#: Chinese headers of the grids' layer and sheet (English keys never reach the file).
GRID_LEVEL_HEADERS: Final = {
    "code": "网格编码",
    "name": "网格名称",
    "parent": "上级编码",
    "households": "户数 (户)",
    "residents": "人口 (人)",
    "micro_grids": "微网格数 (个)",
    "area_m2": "面积 (m²)",
    "branch": "党支部",
    "grid_head": "网格长",
    "grid_workers": "网格员",
    "central_households": "党员中心户",
    "building_heads": "楼栋长",
    "flags": "问题",
}
#: Chinese headers of the micro-grids' layer and sheet.
MICRO_LEVEL_HEADERS: Final = {
    k: v
    for k, v in (GRID_LEVEL_HEADERS | {"code": "微网格编码", "name": "微网格名称", "parent": "所属网格编码"}).items()
    if k != "micro_grids"
}
_ESTIMATED = {"households": "估算户数 (户)", "residents": "估算人口 (人)"}
_PEOPLE = ("branch", "grid_head", "grid_workers", "central_households", "building_heads")


@dataclass(frozen=True)
class GridLevelsExport:
    """The grids and micro-grids as files.

    Attributes
    ----------
    layers
        ``网格`` and ``微网格`` (only when there are micro-grids): polygons in the plan's CRS with
        the Chinese columns of :data:`GRID_LEVEL_HEADERS` / :data:`MICRO_LEVEL_HEADERS`.
    sheets
        ``说明``, ``网格`` and ``微网格`` (when there are micro-grids): the same columns, no geometry.
    grids, micro
        Numbers of grids and micro-grids.
    """

    layers: dict[str, gpd.GeoDataFrame]
    sheets: dict[str, pd.DataFrame]
    grids: int
    micro: int


def _level_frame(plan: GridPlan, nodes: pd.DataFrame, level: str) -> gpd.GeoDataFrame:
    frame = grids_gdf(plan)
    mine = nodes[nodes["level"] == level].set_index("code")
    for column in _PEOPLE:  # the organisation's names (already masked or not), by code
        frame[column] = frame["code"].map(mine[column]).fillna("").astype(str).to_numpy()
    return frame


def grid_levels_export(
    grids: GridPlan,
    micro: GridPlan | None = None,
    *,
    people: pd.DataFrame | None = None,
    show_personal: bool = False,
    estimated: bool = False,
    project_name: str = "",
) -> GridLevelsExport:
    """The grids (and micro-grids) of a project as GeoPackage layers and XLSX sheets.

    Parameters
    ----------
    grids
        The grids (projected CRS, metres).
    micro
        Their micro-grids, each plot's ``parent`` the grid it is in now; None: the grids alone.
    people
        Roster people placed in grids or micro-grids (``grid_code``, ``role``, ``name``), as for
        :func:`geo.grids.orgchart.organisation_nodes`.
    show_personal
        Names in clear (needs the holder's authorisation); masked 张* by default.
    estimated
        Households and residents are estimates from buildings: headed 估算户数 / 估算人口.
    project_name
        Named in the 说明 sheet.

    Returns
    -------
    GridLevelsExport
    """
    levels = grids if micro is None else LevelPlan(grids=grids, micro=micro)
    nodes = organisation_nodes(levels, people=people, show_personal=show_personal)
    upper = _level_frame(grids, nodes, LEVELS_ZH[1])
    parts = {"网格": (upper, GRID_LEVEL_HEADERS)}
    count_micro = 0
    if micro is not None:
        lower = _level_frame(micro, nodes, LEVELS_ZH[2])
        counts = lower.groupby("parent").size()
        upper["micro_grids"] = upper["code"].map(counts).fillna(0).astype(int).to_numpy()
        parts["微网格"] = (lower, MICRO_LEVEL_HEADERS)
        count_micro = len(lower)
    layers: dict[str, gpd.GeoDataFrame] = {}
    sheets: dict[str, pd.DataFrame] = {}
    for name, (frame, headers) in parts.items():
        named = headers | (_ESTIMATED if estimated else {})
        columns = [c for c in headers if c in frame.columns]
        layers[name] = chinese_frame(frame[[*columns, "geometry"]], headers=named, estimated=estimated)
        sheets[name] = official_table(frame, columns, headers=named, estimated=estimated)
    households = float(np.asarray(upper["households"], dtype=float).sum())
    notes = [
        ("项目", project_name),
        ("网格", f"{len(upper)} 个，{households:,.0f} {'估算户' if estimated else '户'}"),
        ("微网格", f"{count_micro} 个" if micro is not None else "尚未生成"),
        ("户数上下限", _bounds(grids) + ("；微网格 " + _bounds(micro) if micro is not None else "")),
        ("姓名", "含实名，仅限授权范围内使用" if show_personal else "已脱敏（张*）"),
        ("编码", "微网格编码 = 所属网格编码 + 序号；网格编码 = 社区/村编码 + 序号"),
    ]
    if estimated:
        notes.append(("户数口径", "户数与人口由建筑面积估算（估算户数、估算人口）"))
    sheets = {"说明": pd.DataFrame(notes, columns=["项目", "说明"]), **sheets}
    return GridLevelsExport(layers, sheets, len(upper), count_micro)


def _bounds(plan: GridPlan) -> str:
    return f"{plan.min_households:g}-{plan.max_households:g} 户"
