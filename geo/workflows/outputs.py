"""Tables as Chinese documents: the column names and key values of every output file in Chinese.

The core keeps English keys (``elderly``, ``covered_pct``, ``pass``) so that code and
tests can join on them; the files planners take to meetings (XLSX, CSV, GeoPackage
attributes) show :func:`chinese_frame` of them instead:

* column names from :data:`COLUMNS_ZH` (``time_min_<group>`` and the other per-group
  columns from :data:`PREFIXES_ZH` with the group's Chinese name);
* values of key columns (functions, facility types, verdicts, levels, issue kinds...)
  through :func:`value_zh`; a ``<column>_zh`` twin replaces its English column;
* residents and households are headed 估算人口 / 估算户数 when they are estimates
  (from buildings or a population grid); their values stay exact (rounding is the
  job of :func:`geo.io.export.chinese_table` for the tables officials read).

``lang="en"`` returns the frame unchanged (the English keys), for the faces that offer
an English option.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from geo import settings
from geo.access.coverage import BASIS_ZH, VERDICT_ZH
from geo.access.standards import FUNCTIONS, load_standard, standard_by_key
from geo.access.units import LEVEL_ZH
from geo.io.export import COVERAGE_HEADERS_ZH, chinese_table
from geo.placement.centers import MODELS, STATUS_ZH

__all__ = [
    "COLUMNS_ZH",
    "LANGS",
    "LAYERS_ZH",
    "LIFE_CIRCLE_CHECK_HEADERS",
    "PREFIXES_ZH",
    "VALUES_ZH",
    "chinese_frame",
    "chinese_values",
    "column_zh",
    "group_zh",
    "is_estimate",
    "layers_in",
    "value_zh",
]

#: Output languages: Chinese (default) and English keys.
LANGS = ("zh", "en")

#: Chinese names of the layers the scripts write into GeoPackages.
LAYERS_ZH: Mapping[str, str] = {
    "demand": "居民点",
    "facilities": "设施",
    "gaps": "覆盖缺口",
    "units": "统计分区",
    "service_areas": "服务范围",
    "reached_streets": "可达道路",
    "sites": "新增中心",
    "runner_ups": "备选站点",
    "coverage": "覆盖统计",
    "summary": "方案汇总",
    "grids": "网格",
    "parents": "上级区划",
}

#: Chinese names of the output columns (units in brackets).
COLUMNS_ZH: Mapping[str, str] = {
    # coverage table (the spreadsheet headers, one definition) and standard check
    **COVERAGE_HEADERS_ZH,
    "level": "生活圈等级",
    "item": "检查项",
    "verdict": "结论",
    "measured": "实测值",
    "required": "要求值",
    "unit_of_measure": "单位",
    "clause": "标准条文",
    # gaps
    "rank": "排名",
    "uncovered": "未覆盖人口 (人)",
    "uncovered_pct": "未覆盖率 (%)",
    "points": "需求点数 (个)",
    "mean_time_min": "平均步行时间 (分钟)",
    "x_wgs84": "中心经度",
    "y_wgs84": "中心纬度",
    # demand points and facilities
    "building_id": "建筑编号",
    "building": "建筑类型 (OSM 标签)",
    "name": "名称",
    "footprint_m2": "基底面积 (m²)",
    "levels": "层数 (层)",
    "levels_source": "层数来源",
    "residents": "人口 (人)",
    "source": "数据来源",
    "assumption": "口径说明",
    "snapped": "已接入路网",
    "snap_dist_m": "接入距离 (m)",
    "status": "状态",
    "facility_id": "设施编号",
    "category": "类别 (OSM 标签)",
    "type": "设施类型",
    "cell_id": "格网编号",
    # service areas and reached streets
    "origin": "起点编号",
    "min_from": "起始时间 (分钟)",
    "minutes": "步行时间 (分钟)",
    "street_length_m": "街道长度 (m)",
    "area_m2": "面积 (m²)",
    "budget_m": "步行距离 (m)",
    "profile": "出行方式",
    "speed_kmh": "步速 (km/h)",
    "width_m": "街道缓冲宽度 (m)",
    "edge": "路段编号",
    "start_m": "起点位置 (m)",
    "end_m": "终点位置 (m)",
    "length_m": "长度 (m)",
    # placement
    "candidate": "候选点编号",
    "node": "路网节点",
    "marginal": "新增覆盖",
    "marginal_residents": "新增覆盖人口 (人)",
    "sole_residents": "仅由此点覆盖人口 (人)",
    "assigned_residents": "分配人口 (人)",
    "would_add": "可新增覆盖人口 (人)",
    "assigned": "分配中心",
    "assigned_new": "分配新中心",
    "time_min": "步行时间 (分钟)",
    "hosted": "新中心承担此功能",
    "project": "项目",
    "model": "模型",
    "method": "求解方法",
    "objective": "目标值",
    "bound": "最优界",
    "gap_pct": "最优间隙 (%)",
    "new_sites": "新增中心数 (处)",
    "covered_before": "布点前已覆盖",
    "covered_after": "布点后已覆盖",
    "covered_pct_before": "布点前覆盖率 (%)",
    "covered_pct_after": "布点后覆盖率 (%)",
    "served_within_capacity": "容量内服务人口 (人)",
    "pmedian_penalty": "未覆盖惩罚",
    "notes": "说明",
    # grids
    "code": "编码",
    "parent": "上级编码",
    "number": "序号",
    "units": "单元数 (个)",
    "polsby_popper": "紧凑度",
    "hull_ratio": "凸包比",
    "branch": "责任支部",
    "grid_member": "网格员",
    "central_households": "党员中心户",
    "flags": "问题",
    "unit_id": "单元编号",
    "grid": "所属网格",
    "severity": "级别",
    "message": "说明",
}

#: Headers of the life-circle check (:func:`geo.access.life_circle.life_circle_check`) in the order shown:
#: every line names its standard, its reach (mode and speed) and its clause, and says 待核实 where
#: a figure is not yet confirmed against the standard's text.
LIFE_CIRCLE_CHECK_HEADERS: Mapping[str, str] = {
    "unit": "分区编码",
    "unit_name": "分区名称",
    "area_type": "城乡类型",
    "standard": "适用标准",
    "level": "生活圈等级",
    "name_zh": "检查项",
    "verdict_zh": "结论",
    "measured": "实测值",
    "required": "要求值",
    "unit_of_measure": "单位",
    "reach": "可达范围（出行方式、速度）",
    "clause": "标准条文",
    "status": "核实状态",
    "note": "判定说明",
}

#: Per-group columns: prefix -> Chinese name with ``{}`` for the group's Chinese name.
PREFIXES_ZH: Mapping[str, str] = {
    "time_min_": "{}步行时间 (分钟)",
    "covered_": "{}已覆盖",
    "pct_": "{}覆盖率 (%)",
    "fac_": "{}设施数 (处)",
}

#: Chinese values of key columns (besides the group names, verdicts and levels).
VALUES_ZH: Mapping[str, Mapping[str, str]] = {
    "kind": {
        "function": "功能",
        "type": "设施类型",
        # grid issues
        "unassigned_unit": "单元未分配",
        "crosses_parent": "跨越上级边界",
        "overlap": "网格重叠",
        "gap": "网格间空隙",
        "not_contiguous": "网格不连通",
        "oversized_unit": "单元户数超上限",
        "above_ceiling": "户数超上限",
        "below_floor": "户数低于下限",
        "too_many_grids": "网格过多",
        "left_out": "未纳入网格",
        "outside_parent": "位于上级范围外",
        "infeasible_bounds": "户数上下限无法满足",
        "not_nested": "微网格未嵌套在网格内",
        "bad_code": "网格编码有误",
        "duplicate_code": "网格编码重复",
        "bad_parent_code": "编码前缀非上级编码",
        "invalid_geometry": "边界无效",
        "bad_households": "户数缺失",
    },
    "severity": {"error": "错误", "warning": "警告", "info": "提示"},
    "basis": dict(BASIS_ZH),
    "verdict": dict(VERDICT_ZH),
    "model": {key: name.split(" (")[0] for key, name in MODELS.items()},
    "method": {"exact": "精确求解", "heuristic": "启发式求解"},
    "status": {key: name.split(" (")[0] for key, name in STATUS_ZH.items()},
    "profile": {key: profile.label_zh for key, profile in settings.PROFILES.items()},
    "levels_source": {"tag": "OSM 层数标签", "default": "缺省层数"},
    "source": {
        "buildings": "建筑估算",
        "grid": "人口格网",
        "network": "路网节点",
        "upload": "上传文件",
        "facilities": "现有设施",
    },
}
#: Columns whose values are facility-group keys (functions or facility types).
GROUP_COLUMNS = ("group", "function", "type", "item")
#: Columns whose values are comma-separated issue kinds.
ISSUE_LIST_COLUMNS = ("flags",)
#: Columns whose values :func:`value_zh` translates.
TRANSLATED = frozenset((*GROUP_COLUMNS, *ISSUE_LIST_COLUMNS, "level", *VALUES_ZH))
ESTIMATED = {"population": "估算人口 (人)", "residents": "估算人口 (人)", "households": "估算户数 (户)"}


def group_zh(key: str) -> str:
    """The Chinese name of a function or facility-type key (the key itself when unknown)."""
    if key in FUNCTIONS:
        return FUNCTIONS[key]
    if key == "scale":
        return "人口规模"
    standard = load_standard()
    if key in standard.groups:
        return standard.groups[key]
    types = standard.facility_types
    return types[key].name_zh if key in types else key


def _level_zh(key: str) -> str:
    for standard in (load_standard(), standard_by_key("tdt1062")):
        if key in standard.levels:
            return standard.levels[key].name_zh
    return LEVEL_ZH.get(key, key)


def value_zh(column: str, value: object) -> object:
    """The Chinese form of ``value`` in ``column`` (anything not a known key is returned as is)."""
    if not isinstance(value, str) or not value:
        return value
    if column in GROUP_COLUMNS:
        return group_zh(value)
    if column == "level":
        return _level_zh(value)
    if column in ISSUE_LIST_COLUMNS:
        return "、".join(VALUES_ZH["kind"].get(v, v) for v in value.split(","))
    return VALUES_ZH.get(column, {}).get(value, value)


def column_zh(name: str, *, estimated: bool = False) -> str:
    """The Chinese header of an output column (``name`` itself when unknown)."""
    if estimated and name in ESTIMATED:
        return ESTIMATED[name]
    if name in COLUMNS_ZH:
        return COLUMNS_ZH[name]
    for prefix, pattern in PREFIXES_ZH.items():
        if name.startswith(prefix):
            return pattern.format(group_zh(name[len(prefix) :]))
    return name


def is_estimate(demand: pd.DataFrame) -> bool:
    """Whether the residents of ``demand`` are estimates (they carry an ``assumption``)."""
    if "assumption" not in demand.columns:
        return False
    return bool(demand["assumption"].fillna("").astype(str).str.strip().ne("").any())


def _geometry_name(frame: pd.DataFrame) -> str | None:
    return frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame else None


def chinese_values(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose key values are Chinese; a ``<column>_zh`` twin replaces ``<column>``."""
    out = frame.copy()
    geometry = _geometry_name(out)
    for column in list(out.columns):
        twin = f"{column}_zh"
        if column == geometry or column == "name":
            continue
        if twin in out.columns:
            out[column] = out[twin]
            out = out.drop(columns=twin)
        elif column in TRANSLATED and (out[column].dtype == object or pd.api.types.is_string_dtype(out[column])):
            out[column] = out[column].map(lambda v, c=column: value_zh(c, v))
    return out


def layers_in(layers: Mapping[str, pd.DataFrame], lang: str = "zh") -> dict[str, pd.DataFrame]:
    """``layers`` keyed by their Chinese layer names (:data:`LAYERS_ZH`), or as they are for ``lang="en"``."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r} 无效，可选 {', '.join(LANGS)} (unknown output language)")
    return {(LAYERS_ZH.get(name, name) if lang == "zh" else name): frame for name, frame in layers.items()}


def chinese_frame(
    frame: pd.DataFrame, *, lang: str = "zh", estimated: bool = False, headers: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """A copy of ``frame`` with Chinese column names and Chinese key values.

    Parameters
    ----------
    frame
        A table or GeoDataFrame with the core's English columns; the geometry column
        keeps its name.
    lang
        ``zh`` (default) or ``en`` (the frame unchanged).
    estimated
        Head residents and households as 估算人口 / 估算户数 (see :func:`is_estimate`).
    headers
        Chinese headers that override :func:`column_zh` for this frame.

    Returns
    -------
    pandas.DataFrame
        Same rows and type (a GeoDataFrame stays one).

    Raises
    ------
    ValueError
        An unknown ``lang``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r} 无效，可选 {', '.join(LANGS)} (unknown output language)")
    if lang == "en":
        return frame.copy()
    out = chinese_values(frame)
    if "group" in out.columns and "name_zh" in out.columns:
        out = out.drop(columns="group")  # the group's Chinese name is in name_zh
    geometry = _geometry_name(out)
    names = {
        c: (headers or {}).get(str(c)) or column_zh(str(c), estimated=estimated) for c in out.columns if c != geometry
    }
    seen: dict[str, int] = {}
    for c, zh in list(names.items()):
        k = seen.get(zh, 0)
        seen[zh] = k + 1
        if k:
            names[c] = f"{zh} ({k + 1})"
    return out.rename(columns=names)


def official_table(
    frame: pd.DataFrame,
    columns: list[str] | tuple[str, ...] | None = None,
    *,
    estimated: bool = False,
    headers: Mapping[str, str] | None = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """A table for officials: the ``columns`` of ``frame`` (all when None) in Chinese, rounded.

    ``lang="en"``: the same columns with their English keys and exact values.

    Values and headers as :func:`chinese_frame` (``headers`` overrides a header);
    people and households as whole numbers, coordinates to 6 decimals, codes as text
    (:func:`geo.io.export.chinese_table`).  The geometry column is dropped.
    """
    keep = [c for c in (columns if columns is not None else frame.columns) if c in frame.columns]
    geometry = _geometry_name(frame)
    keep = [c for c in keep if c != geometry]
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r} 无效，可选 {', '.join(LANGS)} (unknown output language)")
    if lang == "en":
        return pd.DataFrame(frame[keep]).copy()
    values = chinese_values(pd.DataFrame(frame[keep]))
    names = {c: (headers or {}).get(c) or column_zh(str(c), estimated=estimated) for c in values.columns}
    return chinese_table(values, names)
