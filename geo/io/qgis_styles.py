"""QGIS layer styles inside a GeoPackage: the ``layer_styles`` table, QML and SLD.

QGIS stores a layer's default style in the GeoPackage itself, in a table named
``layer_styles`` (one row per style: the table it styles, the style as QML and as SLD,
``useAsDefault``); a GeoPackage carrying one opens styled when it is dragged into QGIS.
This module writes that table the way QGIS's own "save style to database" does (the same
columns and types, registered in ``gpkg_contents`` as an attributes table), from a small
description of each style (:class:`LayerStyle`): one symbol, categories of an attribute,
or ranges of a number, and an optional label field.

Which colours each layer gets is decided by :mod:`geo.maps.qgis_layers` from the web map's
palette (:mod:`geo.maps.style`); this module knows nothing about the project's layers.

The XML is built with :mod:`xml.etree.ElementTree` (so values are escaped: a facility
category named ``<b>&`` stays text) and carries no DOCTYPE.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from geo.errors import InputDataError

logger = logging.getLogger(__name__)

__all__ = [
    "LAYER_STYLES_COLUMNS",
    "LAYER_STYLES_TABLE",
    "QGIS_VERSION",
    "Category",
    "LayerStyle",
    "Range",
    "Symbol",
    "write_layer_styles",
]

LAYER_STYLES_TABLE = "layer_styles"
#: The table as QGIS creates it in a GeoPackage (QgsOgrProviderMetadata::saveStyle through
#: OGR: ``id`` primary key, text widths, ``useAsDefault`` boolean, ``update_time`` stamped).
LAYER_STYLES_COLUMNS = (
    ("id", "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"),
    ("f_table_catalog", "TEXT(256)"),
    ("f_table_schema", "TEXT(256)"),
    ("f_table_name", "TEXT(256)"),
    ("f_geometry_column", "TEXT(256)"),
    ("styleName", "TEXT(30)"),
    ("styleQML", "TEXT"),
    ("styleSLD", "TEXT"),
    ("useAsDefault", "BOOLEAN"),
    ("description", "TEXT"),
    ("owner", "TEXT(30)"),
    ("ui", "TEXT(30)"),
    ("update_time", "DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"),
    ("type", "TEXT"),
)
#: The QGIS version the QML says it was written for (read by QGIS 3.x).
QGIS_VERSION = "3.28.0-Firenze"
SYMBOL_KINDS = ("marker", "line", "fill")
#: QGIS's geometry type names (``type`` column, ``layerGeometryType``) per symbol kind.
GEOMETRY_TYPE = {"marker": ("Point", 0), "line": ("Line", 1), "fill": ("Polygon", 2)}
MAX_STYLE_NAME = 30
SLD_NS = {
    "xmlns": "http://www.opengis.net/sld",
    "xmlns:ogc": "http://www.opengis.net/ogc",
    "xmlns:se": "http://www.opengis.net/se",
    "xmlns:xlink": "http://www.w3.org/1999/xlink",
    "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsi:schemaLocation": "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
    "version": "1.1.0",
}


@dataclass(frozen=True)
class Symbol:
    """How one class of features is drawn.

    Attributes
    ----------
    kind
        ``marker`` (points), ``line`` or ``fill`` (polygons).
    colour
        Fill (marker, polygon) or line colour, ``#rrggbb``.
    outline
        Outline colour of a marker or polygon, ``#rrggbb``; ``None`` for no outline.
    opacity
        Of the fill, 0-1 (the outline stays opaque).
    width_mm
        Line or outline width in millimetres.
    size_mm
        Marker size in millimetres.
    shape
        Marker shape (QGIS names: ``circle``, ``star``, ``square``, ``triangle``).
    dashed
        A dashed line or outline.
    """

    kind: str
    colour: str
    outline: str | None = "#333333"
    opacity: float = 1.0
    width_mm: float = 0.26
    size_mm: float = 2.6
    shape: str = "circle"
    dashed: bool = False

    def __post_init__(self) -> None:
        if self.kind not in SYMBOL_KINDS:
            raise InputDataError(f"符号类型 {self.kind!r} 无效，可选: {', '.join(SYMBOL_KINDS)} (unknown symbol kind)")
        for colour in (self.colour, self.outline):
            if colour is not None:
                _rgb(colour)
        if not 0.0 <= self.opacity <= 1.0:
            raise InputDataError(f"不透明度 {self.opacity} 应在 0-1 之间 (opacity must be in [0, 1])")


@dataclass(frozen=True)
class Category:
    """Features whose attribute equals ``value`` (as text), drawn with ``symbol``, named ``label``.

    When the style classifies by a QGIS expression over one text column
    (:attr:`LayerStyle.like_column`), ``like`` are the SQL ``LIKE`` patterns of that column
    the category stands for in the SLD (``()``: every other feature, an ``ElseFilter``).
    """

    value: str
    label: str
    symbol: Symbol
    like: tuple[str, ...] = ()


@dataclass(frozen=True)
class Range:
    """Features whose attribute lies in ``[lower, upper]``, drawn with ``symbol``, named ``label``."""

    lower: float
    upper: float
    label: str
    symbol: Symbol


@dataclass(frozen=True)
class LayerStyle:
    """The default style of one GeoPackage table.

    Exactly one of ``symbol`` (one symbol for all), ``categories`` or ``ranges`` (of
    ``attribute``) is given.

    Attributes
    ----------
    table
        The GeoPackage table (layer name as written, Chinese names kept).
    name
        Style name (``styleName``, at most 30 characters).
    description
        What the style shows (the palette's meaning), for QGIS's style manager.
    attribute
        Field the categories or ranges classify (a field name, or a QGIS expression).
    label_field
        Field whose value labels each feature, or ``None``.
    like_column
        When ``attribute`` is a QGIS expression over one text column, that column: the SLD
        then filters it with each category's ``like`` patterns.
    """

    table: str
    name: str
    description: str = ""
    symbol: Symbol | None = None
    attribute: str | None = None
    categories: tuple[Category, ...] = ()
    ranges: tuple[Range, ...] = ()
    label_field: str | None = None
    like_column: str | None = None

    def __post_init__(self) -> None:
        given = sum((self.symbol is not None, bool(self.categories), bool(self.ranges)))
        if given != 1:
            raise InputDataError(
                f"图层 {self.table} 的样式应给出单一符号、分类或分级之一 (give one of symbol, categories, ranges)"
            )
        if (self.categories or self.ranges) and not self.attribute:
            raise InputDataError(f"图层 {self.table} 的分类/分级样式缺少字段 (categories need an attribute)")
        kinds = {s.kind for s in self.symbols}
        if len(kinds) != 1:
            raise InputDataError(f"图层 {self.table} 的符号类型不一致: {sorted(kinds)} (one symbol kind per layer)")

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        """The symbols in class order."""
        if self.symbol is not None:
            return (self.symbol,)
        return tuple(c.symbol for c in self.categories) or tuple(r.symbol for r in self.ranges)

    @property
    def kind(self) -> str:
        """``marker``, ``line`` or ``fill``."""
        return self.symbols[0].kind

    @property
    def geometry_type(self) -> str:
        """QGIS's name of the layer's geometry type (``Point``, ``Line``, ``Polygon``)."""
        return GEOMETRY_TYPE[self.kind][0]

    def qml(self) -> str:
        """The style as a QGIS QML document (renderer, symbols, labels)."""
        return _qml(self)

    def sld(self) -> str:
        """The style as an OGC SLD 1.1 document (for other GIS; QGIS reads the QML)."""
        return _sld(self)


# ----------------------------------------------------------------------------- QML


def _rgb(colour: str) -> tuple[int, int, int]:
    text = colour.lstrip("#")
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise InputDataError(f"颜色 {colour!r} 应写作 #rrggbb (colours are #rrggbb)")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _qcolour(colour: str | None, alpha: float = 1.0) -> str:
    if colour is None:
        return "0,0,0,0"
    r, g, b = _rgb(colour)
    return f"{r},{g},{b},{round(255 * alpha)}"


def _symbol_layer_props(symbol: Symbol) -> tuple[str, dict[str, str]]:
    outline = _qcolour(symbol.outline)
    no_outline = "no" if symbol.outline is None else ("dash" if symbol.dashed else "solid")
    if symbol.kind == "marker":
        return "SimpleMarker", {
            "name": symbol.shape,
            "color": _qcolour(symbol.colour, symbol.opacity),
            "outline_color": outline,
            "outline_style": no_outline,
            "outline_width": f"{symbol.width_mm:g}",
            "outline_width_unit": "MM",
            "size": f"{symbol.size_mm:g}",
            "size_unit": "MM",
            "angle": "0",
            "scale_method": "diameter",
        }
    if symbol.kind == "line":
        return "SimpleLine", {
            "line_color": _qcolour(symbol.colour, symbol.opacity),
            "line_style": "dash" if symbol.dashed else "solid",
            "line_width": f"{symbol.width_mm:g}",
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        }
    return "SimpleFill", {
        "color": _qcolour(symbol.colour, symbol.opacity),
        "style": "solid" if symbol.opacity > 0 else "no",
        "outline_color": outline,
        "outline_style": no_outline,
        "outline_width": f"{symbol.width_mm:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel",
    }


def _symbol_xml(parent: ET.Element, symbol: Symbol, name: str, tag: str = "symbol") -> None:
    element = ET.SubElement(
        parent,
        tag,
        {"type": symbol.kind, "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    cls, props = _symbol_layer_props(symbol)
    layer = ET.SubElement(element, "layer", {"class": cls, "enabled": "1", "pass": "0", "locked": "0"})
    # QGIS >= 3.26 reads the <Option> map; older 3.x read the <prop> pairs: both are written.
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for key, value in props.items():
        ET.SubElement(options, "Option", {"type": "QString", "name": key, "value": value})
    for key, value in props.items():
        ET.SubElement(layer, "prop", {"k": key, "v": value})


def _labeling_xml(root: ET.Element, field: str) -> None:
    labeling = ET.SubElement(root, "labeling", {"type": "simple"})
    settings = ET.SubElement(labeling, "settings", {"calloutType": "simple"})
    style = ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": field,
            "isExpression": "0",
            "fontFamily": "Noto Sans CJK SC",
            "fontSize": "9",
            "fontSizeUnit": "Point",
            "textColor": "34,34,34,255",
            "textOpacity": "1",
        },
    )
    ET.SubElement(style, "text-buffer", {"bufferDraw": "1", "bufferSize": "0.8", "bufferColor": "255,255,255,255"})
    ET.SubElement(settings, "placement", {"placement": "1", "dist": "1", "distUnits": "MM"})
    ET.SubElement(settings, "rendering", {"obstacle": "1", "displayAll": "0", "scaleVisibility": "0"})


def _qml(style: LayerStyle) -> str:
    root = ET.Element(
        "qgis",
        {
            "version": QGIS_VERSION,
            "styleCategories": "Symbology|Labeling",
            "labelsEnabled": "1" if style.label_field else "0",
        },
    )
    common = {"symbollevels": "0", "enableorderby": "0", "forceraster": "0", "referencescale": "-1"}
    if style.symbol is not None:
        renderer = ET.SubElement(root, "renderer-v2", {"type": "singleSymbol", **common})
        symbols = ET.SubElement(renderer, "symbols")
        _symbol_xml(symbols, style.symbol, "0")
    elif style.categories:
        renderer = ET.SubElement(
            root, "renderer-v2", {"type": "categorizedSymbol", "attr": str(style.attribute), **common}
        )
        cats = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        for i, category in enumerate(style.categories):
            ET.SubElement(
                cats, "category", {"symbol": str(i), "value": category.value, "label": category.label, "render": "true"}
            )
            _symbol_xml(symbols, category.symbol, str(i))
    else:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            {"type": "graduatedSymbol", "attr": str(style.attribute), "graduatedMethod": "GraduatedColor", **common},
        )
        ranges = ET.SubElement(renderer, "ranges")
        symbols = ET.SubElement(renderer, "symbols")
        for i, band in enumerate(style.ranges):
            ET.SubElement(
                ranges,
                "range",
                {
                    "symbol": str(i),
                    "lower": f"{band.lower:.6f}",
                    "upper": f"{band.upper:.6f}",
                    "label": band.label,
                    "render": "true",
                },
            )
            _symbol_xml(symbols, band.symbol, str(i))
        ET.SubElement(renderer, "mode", {"name": "manual"})
    if style.label_field:
        _labeling_xml(root, style.label_field)
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = str(GEOMETRY_TYPE[style.kind][1])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


# ----------------------------------------------------------------------------- SLD


def _sld_symbolizer(rule: ET.Element, symbol: Symbol) -> None:
    def param(parent: ET.Element, name: str, value: str) -> None:
        ET.SubElement(parent, "se:SvgParameter", {"name": name}).text = value

    def stroke(parent: ET.Element, colour: str | None, width_mm: float, dashed: bool) -> None:
        if colour is None:
            return
        element = ET.SubElement(parent, "se:Stroke")
        param(element, "stroke", colour)
        param(element, "stroke-width", f"{width_mm * 3.78:.2f}")  # SLD widths are pixels (0.28 mm)
        if dashed:
            param(element, "stroke-dasharray", "5 2")

    if symbol.kind == "marker":
        point = ET.SubElement(rule, "se:PointSymbolizer")
        graphic = ET.SubElement(point, "se:Graphic")
        mark = ET.SubElement(graphic, "se:Mark")
        ET.SubElement(mark, "se:WellKnownName").text = symbol.shape
        fill = ET.SubElement(mark, "se:Fill")
        param(fill, "fill", symbol.colour)
        param(fill, "fill-opacity", f"{symbol.opacity:g}")
        stroke(mark, symbol.outline, symbol.width_mm, False)
        ET.SubElement(graphic, "se:Size").text = f"{symbol.size_mm * 3.78:.1f}"
    elif symbol.kind == "line":
        line = ET.SubElement(rule, "se:LineSymbolizer")
        stroke(line, symbol.colour, symbol.width_mm, symbol.dashed)
    else:
        polygon = ET.SubElement(rule, "se:PolygonSymbolizer")
        fill = ET.SubElement(polygon, "se:Fill")
        param(fill, "fill", symbol.colour)
        param(fill, "fill-opacity", f"{symbol.opacity:g}")
        stroke(polygon, symbol.outline, symbol.width_mm, symbol.dashed)


def _sld(style: LayerStyle) -> str:
    root = ET.Element("StyledLayerDescriptor", SLD_NS)
    layer = ET.SubElement(root, "NamedLayer")
    ET.SubElement(layer, "se:Name").text = style.table
    user = ET.SubElement(layer, "UserStyle")
    ET.SubElement(user, "se:Name").text = style.name
    fts = ET.SubElement(user, "se:FeatureTypeStyle")
    if style.symbol is not None:
        rule = ET.SubElement(fts, "se:Rule")
        ET.SubElement(rule, "se:Name").text = style.name
        _sld_symbolizer(rule, style.symbol)
    for category in style.categories:
        rule = ET.SubElement(fts, "se:Rule")
        ET.SubElement(rule, "se:Name").text = category.label
        if style.like_column and not category.like:
            ET.SubElement(rule, "se:ElseFilter")
        elif style.like_column:
            parent = ET.SubElement(rule, "ogc:Filter")
            if len(category.like) > 1:
                parent = ET.SubElement(parent, "ogc:Or")
            for pattern in category.like:
                like = ET.SubElement(
                    parent, "ogc:PropertyIsLike", {"wildCard": "%", "singleChar": "_", "escapeChar": "\\"}
                )
                ET.SubElement(like, "ogc:PropertyName").text = style.like_column
                ET.SubElement(like, "ogc:Literal").text = pattern
        else:
            condition = ET.SubElement(ET.SubElement(rule, "ogc:Filter"), "ogc:PropertyIsEqualTo")
            ET.SubElement(condition, "ogc:PropertyName").text = str(style.attribute)
            ET.SubElement(condition, "ogc:Literal").text = category.value
        _sld_symbolizer(rule, category.symbol)
    for band in style.ranges:
        rule = ET.SubElement(fts, "se:Rule")
        ET.SubElement(rule, "se:Name").text = band.label
        both = ET.SubElement(ET.SubElement(rule, "ogc:Filter"), "ogc:And")
        for op, bound in (
            ("ogc:PropertyIsGreaterThanOrEqualTo", band.lower),
            ("ogc:PropertyIsLessThanOrEqualTo", band.upper),
        ):
            condition = ET.SubElement(both, op)
            ET.SubElement(condition, "ogc:PropertyName").text = str(style.attribute)
            ET.SubElement(condition, "ogc:Literal").text = f"{bound:g}"
        _sld_symbolizer(rule, band.symbol)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


# --------------------------------------------------------------------------- table


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_layer_styles(path: str | Path, styles: Sequence[LayerStyle], *, owner: str = "linli") -> int:
    """Write ``styles`` into the GeoPackage at ``path`` as QGIS's ``layer_styles`` table.

    The table is created as QGIS creates it (:data:`LAYER_STYLES_COLUMNS`) and registered
    in ``gpkg_contents`` as an attributes table; each style is its table's default
    (``useAsDefault = 1``), with its geometry column read from ``gpkg_geometry_columns``.
    Styles of tables that are not spatial layers of the file are skipped.  Call it on a
    file being written (inside :func:`geo.io.export.atomic_write`), not on a live one.

    Parameters
    ----------
    path
        A GeoPackage written by GDAL.
    styles
        One style per table.
    owner
        The ``owner`` column.

    Returns
    -------
    int
        The number of styles written.

    Raises
    ------
    InputDataError
        Two styles for one table.
    """
    tables = [s.table for s in styles]
    twice = sorted({t for t in tables if tables.count(t) > 1})
    if twice:
        raise InputDataError(f"图层 {twice} 有多个默认样式 (one default style per layer)")
    stamp = dt.datetime.now(dt.UTC)
    now = f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z"  # GeoPackage's timestamp form
    with closing(sqlite3.connect(path)) as db, db:
        geometry_columns = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        rows = [
            (
                "",
                "",
                style.table,
                geometry_columns[style.table],
                style.name[:MAX_STYLE_NAME],
                style.qml(),
                style.sld(),
                1,
                style.description,
                owner,
                "",
                now,
                style.geometry_type,
            )
            for style in styles
            if style.table in geometry_columns
        ]
        if not rows:
            return 0
        columns = ", ".join(f"{_quote(name)} {kind}" for name, kind in LAYER_STYLES_COLUMNS)
        db.execute(f"CREATE TABLE IF NOT EXISTS {_quote(LAYER_STYLES_TABLE)} ({columns})")
        names = ", ".join(_quote(name) for name, _ in LAYER_STYLES_COLUMNS[1:])
        db.executemany(
            f"INSERT INTO {_quote(LAYER_STYLES_TABLE)} ({names}) VALUES ({', '.join('?' * len(rows[0]))})", rows
        )
        db.execute(
            "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
            "VALUES (?, 'attributes', ?, ?, ?)",
            (LAYER_STYLES_TABLE, LAYER_STYLES_TABLE, "QGIS 图层样式 (layer styles)", now),
        )
    logger.info("layer styles: %d of %d layers styled in %s", len(rows), len(styles), Path(path).name)
    return len(rows)
