"""QGIS layer styles in the GeoPackages (issue 21): the ``layer_styles`` table, QML and SLD.

The table is checked against the columns QGIS itself creates when it saves a style into a
GeoPackage (QgsOgrProviderMetadata::saveStyle: f_table_catalog ... update_time, type), opened
with sqlite3; the QML and SLD are parsed as XML; the colours are the web map's palette.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.errors import InputDataError
from geo.io.export import write_gpkg
from geo.io.qgis_styles import LAYER_STYLES_COLUMNS, Category, LayerStyle, Symbol, write_layer_styles
from geo.maps import style as palette
from geo.maps.qgis_layers import palette_styles, write_styled_gpkg

SLD = "{http://www.opengis.net/sld}"
SE = "{http://www.opengis.net/se}"


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    """Layers shaped as the scripts write them (Chinese layer and column names), in Hui'an."""
    c = shapely.Point(118.8, 25.03)
    rings = [c.buffer(0.004 * k) for k in (1, 2, 3)]
    cells = [shapely.box(118.79 + 0.01 * i, 25.02, 118.8 + 0.01 * i, 25.03) for i in range(2)]
    return {
        "服务范围": gpd.GeoDataFrame({"步行时间 (分钟)": [5.0, 10.0, 15.0]}, geometry=rings, crs=4326),
        "设施": gpd.GeoDataFrame(
            {"所属功能": ["medical", "elderly", "安有所护"], "名称": ["卫生院", "<b>&养老院", "x"]},
            geometry=[c, shapely.Point(118.81, 25.03), shapely.Point(118.82, 25.04)],
            crs=4326,
        ),
        "覆盖缺口": gpd.GeoDataFrame({"排名": [1, 2]}, geometry=cells, crs=4326),
        "网格": gpd.GeoDataFrame(
            {"网格编码": ["350521100001001", "350521100001002"], "问题": ["户数低于下限", ""]}, geometry=cells, crs=4326
        ),
        "新增中心": gpd.GeoDataFrame({"名称": ["新中心 1"]}, geometry=[c], crs=4326),
        "居民点": gpd.GeoDataFrame(
            {"病有所医步行时间 (分钟)": [3.0, 12.0]}, geometry=[c, shapely.Point(118.805, 25.035)], crs=4326
        ),
        "汇总": pd.DataFrame({"覆盖率 (%)": [91.5]}),  # an attribute table: not styled
    }


@pytest.fixture(scope="module")
def gpkg(layers, tmp_path_factory):
    return write_styled_gpkg(layers, tmp_path_factory.mktemp("styles") / "惠安 样式.gpkg")


def test_the_table_is_the_one_qgis_creates(gpkg):
    with sqlite3.connect(gpkg) as db:
        info = db.execute('PRAGMA table_info("layer_styles")').fetchall()
        registered = db.execute(
            "SELECT data_type, identifier FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchone()
    assert [(row[1], row[2]) for row in info] == [
        (name, kind.split(" DEFAULT")[0].replace(" PRIMARY KEY AUTOINCREMENT NOT NULL", ""))
        for name, kind in LAYER_STYLES_COLUMNS
    ]
    assert [row[1] for row in info][:13] == [
        "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
        "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time",
    ]  # fmt: skip
    assert registered == ("attributes", "layer_styles")
    # GDAL (which QGIS reads it through) sees the same table: boolean default flag, a timestamp.
    read = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    assert read["useAsDefault"].dtype == bool and read["useAsDefault"].all()


def test_one_default_style_per_spatial_layer(gpkg):
    with sqlite3.connect(gpkg) as db:
        rows = db.execute(
            "SELECT f_table_name, f_geometry_column, useAsDefault, type, styleName FROM layer_styles ORDER BY id"
        ).fetchall()
        geometry = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert [r[0] for r in rows] == ["服务范围", "设施", "覆盖缺口", "网格", "新增中心", "居民点"]  # not 汇总
    assert all(r[1] == geometry[r[0]] == "geom" and r[2] == 1 for r in rows)
    assert {r[0]: r[3] for r in rows} == {
        "服务范围": "Polygon",
        "设施": "Point",
        "覆盖缺口": "Polygon",
        "网格": "Polygon",
        "新增中心": "Point",
        "居民点": "Point",
    }
    assert all(0 < len(r[4]) <= 30 for r in rows)


def _qml(gpkg, table: str) -> ET.Element:
    with sqlite3.connect(gpkg) as db:
        text = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = ?", (table,)).fetchone()[0]
    assert "<!DOCTYPE" not in text
    return ET.fromstring(text)  # well-formed, or this raises


def test_service_area_rings_have_the_web_colours(gpkg):
    root = _qml(gpkg, "服务范围")
    assert root.tag == "qgis" and root.get("version", "").startswith("3.")
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "步行时间 (分钟)"
    values = [c.get("value") for c in renderer.iter("category")]
    assert values == ["5", "10", "15"]  # as QGIS prints the doubles 5.0, 10.0, 15.0
    colours = [s.find("layer/Option/Option[@name='color']").get("value") for s in renderer.find("symbols")]
    # Fill at 35 % opacity: alpha round(0.35 * 255) = 89.
    assert colours == [_rgba(c, 89) for c in palette.RING_COLOURS[:3]]
    assert root.findtext("layerGeometryType") == "2"


def test_facilities_by_function_with_escaped_text(gpkg):
    renderer = _qml(gpkg, "设施").find("renderer-v2")
    categories = {c.get("value"): c.get("label") for c in renderer.iter("category")}
    assert categories == {"elderly": "老有所养", "medical": "病有所医", "安有所护": "安有所护"}
    by_symbol = {s.get("name"): s for s in renderer.find("symbols")}
    colour = {
        c.get("value"): by_symbol[c.get("symbol")].find("layer/prop[@k='color']").get("v")
        for c in renderer.iter("category")
    }
    assert colour["medical"] == _rgba(palette.FUNCTION_COLOURS["medical"])
    assert colour["安有所护"] == _rgba(palette.function_colour("安有所护"))  # an extra function's stable colour


def test_grids_labelled_by_code_and_candidates_as_stars(gpkg):
    grids = _qml(gpkg, "网格")
    assert grids.get("labelsEnabled") == "1"
    assert grids.find("labeling/settings/text-style").get("fieldName") == "网格编码"
    renderer = grids.find("renderer-v2")
    # Coloured by the household bounds, from the flags column (the web map's three grid colours).
    assert renderer.get("type") == "categorizedSymbol" and '"问题" LIKE' in renderer.get("attr")
    assert [c.get("label") for c in renderer.iter("category")] == ["户数低于下限", "户数在上下限内", "户数超上限"]
    fill = grids.find("renderer-v2/symbols/symbol/layer")
    assert fill.get("class") == "SimpleFill"
    assert fill.find("prop[@k='outline_color']").get("v") == _rgba(palette.GRID_EDGE_COLOUR)
    assert fill.find("prop[@k='color']").get("v") == _rgba(palette.GRID_COLOURS[0], 115)
    star = _qml(gpkg, "新增中心").find("renderer-v2/symbols/symbol/layer")
    assert star.find("prop[@k='name']").get("v") == "star"
    assert star.find("prop[@k='color']").get("v") == _rgba(palette.NEW_SITE_COLOUR)
    gaps = _qml(gpkg, "覆盖缺口").find("renderer-v2/symbols/symbol/layer/prop[@k='color']")
    assert gaps.get("v") == _rgba(palette.GAP_COLOUR, 115)  # 45 % of 255


def test_residents_by_walking_time_classes(gpkg):
    renderer = _qml(gpkg, "居民点").find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol" and renderer.get("attr") == "病有所医步行时间 (分钟)"
    bounds = [(float(r.get("lower")), float(r.get("upper"))) for r in renderer.iter("range")]
    assert bounds[:3] == [(0.0, 5.0), (5.0, 10.0), (10.0, 15.0)] and bounds[3][0] == 15.0


def test_the_sld_is_well_formed_with_one_rule_per_class(gpkg):
    with sqlite3.connect(gpkg) as db:
        text = db.execute("SELECT styleSLD FROM layer_styles WHERE f_table_name = '服务范围'").fetchone()[0]
    root = ET.fromstring(text)
    assert root.tag == f"{SLD}StyledLayerDescriptor" and root.get("version") == "1.1.0"
    rules = root.findall(f".//{SE}Rule")
    assert [r.findtext(f"{SE}Name") for r in rules] == ["5 分钟", "10 分钟", "15 分钟"]


def test_grid_sld_filters_the_flags_column(gpkg):
    with sqlite3.connect(gpkg) as db:
        text = db.execute("SELECT styleSLD FROM layer_styles WHERE f_table_name = '网格'").fetchone()[0]
    rules = ET.fromstring(text).findall(f".//{SE}Rule")
    ogc = "{http://www.opengis.net/ogc}"
    assert [r.findtext(f"{SE}Name") for r in rules] == ["户数低于下限", "户数在上下限内", "户数超上限"]
    assert rules[1].find(f"{SE}ElseFilter") is not None  # within the bounds: every other grid
    below = rules[0].findall(f".//{ogc}PropertyIsLike")
    assert [(x.findtext(f"{ogc}PropertyName"), x.findtext(f"{ogc}Literal")) for x in below] == [
        ("问题", "%户数低于下限%"),
        ("问题", "%below_floor%"),
    ]


def test_gpkg_without_styles_has_no_table(layers, tmp_path):
    path = write_gpkg({"设施": layers["设施"]}, tmp_path / "a.gpkg")  # the core writer alone: no styles
    assert [name for name, _ in pyogrio.list_layers(path)] == ["设施"]


def test_every_unknown_spatial_layer_still_gets_a_plain_style(layers):
    odd = {"道路 roads": gpd.GeoDataFrame(geometry=[shapely.LineString([(118.8, 25.0), (118.9, 25.1)])], crs=4326)}
    (style,) = palette_styles(odd)
    assert style.kind == "line" and style.symbol.colour == palette.NETWORK_COLOUR


def test_bad_styles_are_refused(tmp_path, layers):
    marker = Symbol("marker", "#d63e2a")
    with pytest.raises(InputDataError, match="#rrggbb"):
        Symbol("fill", "red")
    with pytest.raises(InputDataError, match="符号类型"):
        Symbol("raster", "#ffffff")
    with pytest.raises(InputDataError, match="单一符号、分类或分级之一"):
        LayerStyle("设施", "x", symbol=marker, attribute="a", categories=(Category("1", "一", marker),))
    with pytest.raises(InputDataError, match="缺少字段"):
        LayerStyle("设施", "x", categories=(Category("1", "一", marker),))
    path = write_gpkg({"设施": layers["设施"]}, tmp_path / "c.gpkg", styles=None)
    with pytest.raises(InputDataError, match="多个默认样式"):
        write_layer_styles(path, [LayerStyle("设施", "a", symbol=marker), LayerStyle("设施", "b", symbol=marker)])
    # A style for a table the file does not have is skipped, not written.
    assert write_layer_styles(path, [LayerStyle("没有的图层", "a", symbol=marker)]) == 0


# ------------------------------------------------------------- real QGIS, when installed

#: Debian's QGIS (``apt install python3-qgis``) runs with the system Python, not the venv's.
SYSTEM_PYTHON = "/usr/bin/python3"
QGIS_CHECK = """
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import (QgsApplication, QgsExpressionContextUtils, QgsRenderContext, QgsVectorLayer)
app = QgsApplication([], False)
app.initQgis()
out = {}
for table in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={table}", table, "ogr")
    renderer = layer.renderer()
    context = QgsRenderContext()  # as the map canvas sets it up: the layer's expression scopes
    context.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    renderer.startRender(context, layer.fields())
    drawn = []
    for feature in layer.getFeatures():
        context.expressionContext().setFeature(feature)
        symbol = renderer.symbolForFeature(feature, context)
        drawn.append(None if symbol is None else symbol.color().name())
    renderer.stopRender(context)
    colours = [s.color().name() for s in renderer.symbols(context)]
    out[table] = [layer.isValid(), renderer.type(), layer.crs().authid(), drawn, layer.featureCount(),
                  colours, layer.labelsEnabled()]
print(json.dumps(out))
app.exitQgis()
"""


def _qgis_installed() -> bool:
    import subprocess

    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.skipif(not _qgis_installed(), reason="QGIS (python3-qgis) not installed")
def test_qgis_opens_the_geopackage_styled(layers, tmp_path):
    """QGIS itself loads each layer's default style from the file and draws every feature with it."""
    import json
    import subprocess

    from geo.io.export import export_crs_for

    spatial = {k: v for k, v in layers.items() if isinstance(v, gpd.GeoDataFrame)}
    path = write_styled_gpkg(layers, tmp_path / "惠安.gpkg", crs=export_crs_for("cgcs2000_gk", *spatial.values()))
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_CHECK, str(path), *spatial], capture_output=True, text=True, timeout=300
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    kinds = {t: v[1] for t, v in seen.items()}
    assert kinds == {
        "服务范围": "categorizedSymbol",
        "设施": "categorizedSymbol",
        "覆盖缺口": "singleSymbol",
        "网格": "categorizedSymbol",
        "新增中心": "singleSymbol",
        "居民点": "graduatedSymbol",
    }
    for table, (valid, _, authid, drawn, count, _, _) in seen.items():
        assert valid and authid == "EPSG:4549" and None not in drawn and len(drawn) == count, table  # all classed
    # Each feature in the class the web map gives it: rings by minutes, grids by their household flags.
    assert seen["服务范围"][3] == list(palette.RING_COLOURS[:3])
    assert seen["网格"][3] == [palette.GRID_COLOURS[0], palette.GRID_COLOURS[1]]  # below the floor; within
    assert seen["居民点"][3] == [palette.TIME_COLOURS[0], palette.TIME_COLOURS[2]]  # 3 and 12 minutes
    assert seen["服务范围"][5] == list(palette.RING_COLOURS[:3])
    assert seen["网格"][6] and seen["新增中心"][6]  # labelled by code / name
