"""The web map's palette as QGIS layer styles for the GeoPackages the project writes.

:func:`palette_styles` looks at each layer of an export (by its name, English key or
Chinese name, and its columns) and gives it the colours it has on the web map and the
print layouts (:mod:`geo.maps.style`): service-area rings green to orange by minutes,
walking-time classes of the residents, gaps in red, facilities by function, grids with
their codes, new and candidate centres as red stars.  A layer it does not know gets a
plain style of its geometry kind, so every spatial layer opens styled in QGIS.
:func:`write_styled_gpkg` writes a GeoPackage with them (``layer_styles``, :mod:`geo.io.qgis_styles`):
the one call every face makes for a GeoPackage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.access.standards import FUNCTIONS
from geo.io.crs import ExportCRS
from geo.io.export import write_gpkg
from geo.io.qgis_styles import Category, LayerStyle, Range, Symbol
from geo.maps import style as palette
from geo.workflows.outputs import COLUMNS_ZH, LAYERS_ZH

__all__ = ["LAYER_ROLES", "palette_styles", "write_styled_gpkg"]

#: Layer names (English keys, the scripts' Chinese names, a plan export's names) by role.
LAYER_ROLES: Mapping[str, tuple[str, ...]] = {
    "facilities": ("facilities", LAYERS_ZH["facilities"], "现有设施"),
    "service_areas": ("service_areas", LAYERS_ZH["service_areas"]),
    "reached_streets": ("reached_streets", LAYERS_ZH["reached_streets"]),
    "gaps": ("gaps", LAYERS_ZH["gaps"]),
    "demand": ("demand", LAYERS_ZH["demand"]),
    "units": ("units", LAYERS_ZH["units"]),
    "grids": ("grids", "grid", LAYERS_ZH["grids"], "网格调整", "微网格"),
    "parents": ("parents", LAYERS_ZH["parents"]),
    "candidates": ("sites", "candidate", LAYERS_ZH["sites"], "候选中心"),
    "runner_ups": ("runner_ups", LAYERS_ZH["runner_ups"]),
    "boundary": ("boundary", "town", "研究区边界", "乡镇界"),
    "planned_areas": ("area", "规划服务范围"),
}
_ROLE_OF = {name: role for role, names in LAYER_ROLES.items() for name in names}
_KIND_OF_GEOMETRY = {"Point": "marker", "LineString": "line", "Polygon": "fill"}


def _kind(frame: gpd.GeoDataFrame, default: str) -> str:
    types = frame.geom_type.dropna().str.replace("Multi", "", regex=False).unique()
    kinds = {_KIND_OF_GEOMETRY[t] for t in types if t in _KIND_OF_GEOMETRY}
    return kinds.pop() if len(kinds) == 1 else default


def _column(frame: pd.DataFrame, key: str) -> str | None:
    for name in (key, COLUMNS_ZH.get(key)):
        if name and name in frame.columns:
            return name
    return None


def _value_text(value: object) -> str:
    """A value as QGIS compares it to a category (``5.0`` -> ``5``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _function_key(value: str) -> str:
    by_label = {label: key for key, label in FUNCTIONS.items()}
    return by_label.get(value, value)


def _facilities(table: str, frame: gpd.GeoDataFrame) -> LayerStyle:
    column = _column(frame, "function")
    if column is None or frame[column].dropna().empty:
        return LayerStyle(table, "设施", "现有设施", symbol=Symbol("marker", palette.NETWORK_COLOUR))
    values = sorted({str(v) for v in frame[column].dropna()})
    categories = tuple(
        Category(
            v,
            FUNCTIONS.get(_function_key(v), v),
            Symbol("marker", palette.function_colour(_function_key(v)), outline="#ffffff", size_mm=3.0),
        )
        for v in values
    )
    return LayerStyle(
        table, "设施 按功能", "现有设施，按服务功能着色（与网页地图相同）", attribute=column, categories=categories
    )


def _minute_classes(table: str, frame: gpd.GeoDataFrame, kind: str, what: str) -> LayerStyle:
    column = _column(frame, "minutes")
    if column is None or frame[column].dropna().empty:
        return LayerStyle(table, what, what, symbol=Symbol(kind, palette.RING_COLOURS[0], opacity=0.35))
    values = sorted({float(v) for v in frame[column].dropna()})
    colours = palette.RING_COLOURS
    categories = tuple(
        Category(
            _value_text(v),
            f"{v:g} 分钟",
            Symbol(
                kind,
                colours[min(i, len(colours) - 1)],
                outline="#666666",
                opacity=0.35 if kind == "fill" else 1.0,
                width_mm=0.2 if kind == "fill" else 0.6,
            ),
        )
        for i, v in enumerate(values)
    )
    return LayerStyle(
        table,
        f"{what} 按时间",
        f"{what}，按步行时间分级（由内到外 绿→橙，与网页地图相同）",
        attribute=column,
        categories=categories,
    )


def _time_column(frame: pd.DataFrame) -> str | None:
    named = _column(frame, "time_min")
    if named is not None:
        return named
    for column in frame.columns:
        text = str(column)
        if text.startswith("time_min_") or text.endswith("步行时间 (分钟)"):
            return text
    return None


def _demand(table: str, frame: gpd.GeoDataFrame, kind: str) -> LayerStyle:
    column = _time_column(frame)
    if column is None:
        return LayerStyle(
            table, "居民点", "居民点", symbol=Symbol(kind, palette.UNREACHED_COLOUR, outline=None, size_mm=1.6)
        )
    bounds = (0.0, *palette.TIME_CLASSES_MIN, math.inf)
    ranges = []
    for i, colour in enumerate(palette.TIME_COLOURS):
        lower, upper = bounds[i], bounds[i + 1]
        label = f"{lower:g}-{upper:g} 分钟" if math.isfinite(upper) else f"{lower:g} 分钟以上"
        ranges.append(
            Range(lower, upper if math.isfinite(upper) else 1e9, label, Symbol(kind, colour, outline=None, size_mm=1.6))
        )
    return LayerStyle(
        table,
        "居民 步行时间",
        f"居民到最近设施的步行时间（{column}），分级与网页地图相同；无法到达者（空值）不显示",
        attribute=column,
        ranges=tuple(ranges),
    )


#: A grid's household flags (``flags`` / 问题, Chinese or key) by the class of GRID_COLOURS they mean.
GRID_FLAG_PATTERNS = {
    "below": ("%户数低于下限%", "%below_floor%"),
    "above": ("%户数超上限%", "%above_ceiling%", "%oversized_unit%"),
}
GRID_CLASS_LABELS = {"below": "户数低于下限", "within": "户数在上下限内", "above": "户数超上限"}


def _code_column(frame: pd.DataFrame) -> str | None:
    """The grid's own code column: ``code``, 编码, or the first header ending in 编码 (网格编码, 微网格编码)."""
    named = _column(frame, "code")
    if named is not None:
        return named
    return next((str(c) for c in frame.columns if str(c).endswith("编码") and "上级" not in str(c)), None)


def _grids(table: str, frame: gpd.GeoDataFrame, kind: str) -> LayerStyle | None:
    """Grids coloured by their household bounds (the web map's three grid colours), from the flags column."""
    flags = _column(frame, "flags")
    if flags is None or kind != "fill":
        return None
    quoted = '"' + flags.replace('"', '""') + '"'

    def any_of(patterns: tuple[str, ...]) -> str:
        return " OR ".join(f"{quoted} LIKE '{p}'" for p in patterns)

    expression = (
        f"CASE WHEN {any_of(GRID_FLAG_PATTERNS['below'])} THEN 'below' "
        f"WHEN {any_of(GRID_FLAG_PATTERNS['above'])} THEN 'above' ELSE 'within' END"
    )
    colours = dict(zip(("below", "within", "above"), palette.GRID_COLOURS, strict=True))
    categories = tuple(
        Category(
            key,
            GRID_CLASS_LABELS[key],
            Symbol("fill", colours[key], outline=palette.GRID_EDGE_COLOUR, opacity=0.45),
            like=GRID_FLAG_PATTERNS.get(key, ()),
        )
        for key in ("below", "within", "above")
    )
    return LayerStyle(
        table,
        "网格 按户数",
        "网格，按户数是否在上下限内着色（与网页地图相同），标注网格编码",
        attribute=expression,
        categories=categories,
        label_field=_code_column(frame),
        like_column=flags,
    )


def _single(table: str, role: str, frame: gpd.GeoDataFrame, kind: str) -> LayerStyle:
    label_code, label_name = _code_column(frame), _column(frame, "name")
    styles: dict[str, tuple[str, Symbol, str | None]] = {
        "gaps": ("覆盖缺口", Symbol(kind, palette.GAP_COLOUR, outline=palette.GAP_COLOUR, opacity=0.45), None),
        "units": (
            "统计分区",
            Symbol(kind, palette.UNIT_COLOUR, outline=palette.UNIT_COLOUR, opacity=0.0, width_mm=0.5),
            label_name,
        ),
        "grids": (
            "网格",
            Symbol(kind, palette.GRID_COLOURS[1], outline=palette.GRID_EDGE_COLOUR, opacity=0.35),
            label_code or label_name,
        ),
        "parents": (
            "上级区划",
            Symbol(kind, palette.BOUNDARY_COLOUR, outline=palette.BOUNDARY_COLOUR, opacity=0.0, width_mm=0.8),
            label_name,
        ),
        "candidates": (
            "新增/候选中心",
            Symbol(kind, palette.NEW_SITE_COLOUR, outline="#ffffff", shape="star", size_mm=5.0),
            label_name,
        ),
        "runner_ups": (
            "备选站点",
            Symbol(kind, palette.NEW_SITE_COLOUR, outline=palette.NEW_SITE_COLOUR, opacity=0.35, size_mm=3.0),
            None,
        ),
        "boundary": (
            "边界",
            Symbol(kind, palette.BOUNDARY_COLOUR, outline=palette.BOUNDARY_COLOUR, opacity=0.0, width_mm=0.8),
            None,
        ),
        "planned_areas": (
            "规划服务范围",
            Symbol(
                kind,
                palette.NEW_SITE_AREA_COLOUR,
                outline=palette.NEW_SITE_AREA_COLOUR,
                opacity=0.15,
                dashed=True,
                width_mm=0.5,
            ),
            label_name,
        ),
    }
    if role in styles:
        name, symbol, label = styles[role]
        if symbol.kind != "fill" and role in ("units", "grids", "parents", "boundary", "planned_areas", "gaps"):
            symbol = Symbol(kind, symbol.outline or symbol.colour)
        return LayerStyle(table, name, f"{name}（配色与网页地图相同）", symbol=symbol, label_field=label)
    plain = {
        "marker": Symbol("marker", palette.UNREACHED_COLOUR, outline=None, size_mm=1.8),
        "line": Symbol("line", palette.NETWORK_COLOUR, width_mm=0.4),
        "fill": Symbol("fill", palette.UNIT_COLOUR, outline=palette.UNIT_COLOUR, opacity=0.2),
    }
    return LayerStyle(table, str(table)[:30], str(table), symbol=plain[kind])


#: The geometry kind of each role when its layer is empty (nothing to look at).
_DEFAULT_KIND = {
    "facilities": "marker",
    "demand": "marker",
    "candidates": "marker",
    "runner_ups": "marker",
    "reached_streets": "line",
}


def palette_styles(layers: Mapping[str, pd.DataFrame]) -> list[LayerStyle]:
    """One QGIS style per spatial layer of ``layers``, from the web map's palette.

    Parameters
    ----------
    layers
        Layer name -> GeoDataFrame (plain tables are skipped), as given to
        :func:`geo.io.export.write_gpkg`.

    Returns
    -------
    list of LayerStyle
        In the order of ``layers``.
    """
    out = []
    for table, frame in layers.items():
        if not isinstance(frame, gpd.GeoDataFrame):
            continue
        role = _ROLE_OF.get(table, "")
        kind = _kind(frame, _DEFAULT_KIND.get(role, "fill"))
        if role == "facilities" and kind == "marker":
            out.append(_facilities(table, frame))
        elif role in ("service_areas", "reached_streets"):
            out.append(_minute_classes(table, frame, kind, "服务范围" if role == "service_areas" else "可达道路"))
        elif role == "demand":
            out.append(_demand(table, frame, kind))
        elif role == "grids" and (grids := _grids(table, frame, kind)) is not None:
            out.append(grids)
        else:
            out.append(_single(table, role, frame, kind))
    return out


def write_styled_gpkg(layers: Mapping[str, pd.DataFrame], path: str | Path, *, crs: ExportCRS | None = None) -> Path:
    """:func:`geo.io.export.write_gpkg` with every spatial layer styled from the web map's palette.

    Parameters
    ----------
    layers
        Layer name -> GeoDataFrame or plain table.
    path
        Output ``.gpkg``.
    crs
        The export's coordinate system (``None``: WGS84).

    Raises
    ------
    InputDataError
        As :func:`geo.io.export.write_gpkg`.
    """
    return write_gpkg(layers, path, crs=crs, styles=palette_styles(layers))
