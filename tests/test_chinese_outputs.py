"""Outputs read as Chinese documents: every file the scripts write on the demo, scanned for English words.

The demo's outputs (coverage, placement, service areas, grids, print maps as PDF and the
one-page report) are written into one folder; every XLSX sheet name, header and text
cell, every CSV cell, every GeoPackage column and text value and the text of every PDF
(matplotlib embeds it: ``pdf.fonttype`` 42) is scanned for runs of three or more ASCII
letters.  What may stay is listed below: units, codes, the OpenStreetMap credit, file
names, OSM tags quoted in the population assumption, and data (OSM names of the Helsinki
demo, the project's name, its coordinate system's name).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pypdf
import pytest
import shapely

from geo.maps.content import coverage_content, coverage_text, source_lines
from geo.maps.report import summary_report
from geo.workflows import analyse_coverage, load_analysis
from scripts import coverage, export_map, grids, place_centers, service_areas

WORD = re.compile(r"[A-Za-z]{3,}")
#: Words allowed in Chinese outputs: units, codes and names of standards, systems and sources.
ALLOWED = {
    "min",  # minutes in "15 min = 1000 m" (the walking-speed source)
    "OpenStreetMap",
    "ODbL",
    "OSM",
    "EPSG",
    "WGS",
    "CGCS",
    "UTM",
}
#: Text removed before the scan: the OSM credit, file names, OSM tag expressions (codes).
STRIP = (
    re.compile(r"© OpenStreetMap contributors"),
    re.compile(r"[\w.-]+\.(?:json|csv|xlsx|gpkg|geojson|toml|pbf|osm)\b"),
    re.compile(r"[a-z_]+(?::[a-z_]+)*=[a-z_]+(?:/[a-z_]+)*"),  # building=residential/apartments/...
    re.compile(r"\b[a-z_]+:[a-z_]+\b"),  # building:levels
)
#: Columns whose values are data, not labels: OSM names and tags, ledger file names, ids.
DATA_COLUMNS = ("名称", "网格名称", "建筑类型 (OSM 标签)", "类别 (OSM 标签)", "数据来源", "建筑编号", "设施编号")


def stray_words(text: str, data: tuple[str, ...] = ()) -> set[str]:
    """ASCII words of ``text`` outside the allow-list, after the data strings are taken out."""
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    for pattern in STRIP:
        text = pattern.sub(" ", text)
    return {w for w in WORD.findall(text) if w not in ALLOWED}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, demo_project):
    """The demo's outputs of every script, and the one-page report, in one folder."""
    out = tmp_path_factory.mktemp("zh") / "成果"
    assert coverage.main(["--project", "demo", "--out", str(out / "coverage"), "--no-maps", "-q"]) == 0
    assert (
        place_centers.main(
            ["--project", "demo", "--model", "mclp", "--new", "2", "--out", str(out / "选址.gpkg"), "-q"]
        )
        == 0
    )
    assert (
        service_areas.main(["--network", "demo", "--facilities", "demo", "--out", str(out / "服务范围.gpkg"), "-q"])
        == 0
    )
    assert grids.main(["--project", "demo", "--out", str(out / "网格.gpkg"), "-q", "--no-coverage"]) == 0
    for kind in ("coverage", "placement"):
        args = ["--project", "demo", "--map", kind, "--function", "medical", "--format", "pdf"]
        assert export_map.main([*args, "--out", str(out / "地图"), "-q"]) == 0
    analysis = load_analysis(demo_project)
    result = analyse_coverage(analysis)
    acc = analysis.accessibility
    summary_report(
        result.table,
        result.check,
        out / "报告.pdf",
        text=coverage_text(acc, "medical", project_name=demo_project.name),
        content=coverage_content(acc, "medical", network=demo_project.network),
    )
    return out


def _data(demo_project) -> tuple[str, ...]:
    return (demo_project.name, demo_project.network.crs.name)


def _scan_file(path: Path, data: tuple[str, ...]) -> dict[str, set[str]]:
    """Stray words by where they were found in one output file."""
    found: dict[str, set[str]] = {}

    def scan(where: str, value: object) -> None:
        if isinstance(value, str) and (words := stray_words(value, data)):
            found.setdefault(where, set()).update(words)

    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            scan(f"{path.name} sheet name", sheet.title)
            rows = list(sheet.iter_rows(values_only=True))
            header = [str(h) for h in rows[0]] if rows else []
            for h in header:
                scan(f"{path.name}/{sheet.title} header", h)
            for row in rows[1:]:
                for h, value in zip(header, row, strict=False):
                    if h not in DATA_COLUMNS:
                        scan(f"{path.name}/{sheet.title}/{h}", value)
    elif path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        header = rows[0] if rows else []
        for h in header:
            scan(f"{path.name} header", h)
        for row in rows[1:]:
            for h, value in zip(header, row, strict=False):
                if h not in DATA_COLUMNS:
                    scan(f"{path.name}/{h}", value)
    elif path.suffix == ".gpkg":
        for layer, _ in pyogrio.list_layers(path):
            if layer == "layer_styles":  # QGIS's own table (QML/SLD), read by QGIS, not by people
                continue
            scan(f"{path.name} layer", layer)  # layer names too (居民点, 设施 ...)
            frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
            for column in frame.columns:
                scan(f"{path.name}/{layer} column", column)
                if column in DATA_COLUMNS or not pd.api.types.is_string_dtype(frame[column]):
                    continue
                for value in frame[column].dropna().unique():
                    scan(f"{path.name}/{layer}/{column}", value)
    elif path.suffix == ".pdf":
        for k, page in enumerate(pypdf.PdfReader(path).pages):
            # a long ASCII run (an OSM tag list) wrapped over two lines is joined again
            text = re.sub(r"(?<=[A-Za-z/=_:])\n\s*(?=[A-Za-z/=_:])", "", page.extract_text())
            scan(f"{path.name} page {k + 1}", text)
    return found


def test_every_output_file_is_scanned(outputs):
    suffixes = sorted({p.suffix for p in outputs.rglob("*") if p.is_file()})
    assert {".csv", ".gpkg", ".pdf", ".xlsx"} <= set(suffixes)
    assert set(suffixes) - {".csv", ".gpkg", ".pdf", ".xlsx"} <= {".json", ".png", ".svg"}  # plan file, diagram
    # the two maps, the report, and the grids' organisation chart (网格_orgchart.pdf)
    assert sorted(p.name for p in outputs.rglob("*.pdf")) == sorted(
        ["报告.pdf", "网格_orgchart.pdf", *(p.name for p in (outputs / "地图").rglob("*.pdf"))]
    )
    assert len(list(outputs.rglob("*.pdf"))) == 4


def test_no_english_words_in_chinese_outputs(outputs, demo_project):
    data = _data(demo_project)
    found = {}
    for path in sorted(outputs.rglob("*")):
        for where, words in _scan_file(path, data).items():
            found[str(path.relative_to(outputs).parent / where)] = sorted(words)
    assert found == {}, "\n".join(f"{where}: {words}" for where, words in found.items())


def test_the_scan_sees_english():
    # the checker itself: English labels are found, the allowed words and data are not
    assert stray_words("覆盖率 covered_pct") == {"covered", "pct"}
    assert stray_words("步行 4 km/h; © OpenStreetMap contributors (ODbL); EPSG:4526 CGCS2000") == set()
    assert stray_words("缺少 building:levels 按 3 层计; building=residential/apartments") == set()
    assert stray_words("演示 Demo (Helsinki)", ("演示 Demo (Helsinki)",)) == set()
    assert stray_words("elderly 15_minute pass") == {"elderly", "minute", "pass"}


def test_coverage_tables_for_officials(outputs):
    book = openpyxl.load_workbook(outputs / "coverage" / "coverage.xlsx")
    summary = pd.read_excel(outputs / "coverage" / "coverage.xlsx", sheet_name="汇总")
    # the demo's residents are estimated from OSM buildings: 估算人口, whole numbers in the sheet
    assert {"覆盖率 (%)", "估算人口 (人)", "步行时间阈值 (分钟)"} <= set(summary.columns)
    for header in ("估算人口 (人)", "覆盖人口 (人)", "估算户数 (户)"):
        assert (summary[header] == summary[header].round(0)).all()
    gaps = book["缺口"]
    header = [c.value for c in gaps[1]]
    lon = [row[header.index("中心经度")] for row in gaps.iter_rows(min_row=2, values_only=True)]
    assert lon and any(abs(x - round(x, 2)) > 1e-4 for x in lon)  # not rounded to 0.01° (about 1 km)
    assert all(abs(x - round(x, 6)) < 1e-9 for x in lon)
    # the exact figures stay in the GeoPackage
    demand = gpd.read_file(outputs / "coverage" / "coverage.gpkg", layer="居民点")
    assert (demand["估算人口 (人)"] != demand["估算人口 (人)"].round(0)).any()


def test_division_codes_are_text_cells(tmp_path, demo_project):
    minx, miny, maxx, maxy = demo_project.network.bounds
    mid = (minx + maxx) / 2
    units = gpd.GeoDataFrame(
        {"编码": ["350521100001", "350521100002"], "名称": ["西片区", "东片区"]},
        geometry=[shapely.box(minx, miny, mid, maxy), shapely.box(mid, miny, maxx, maxy)],
        crs=demo_project.network.crs,
    ).to_crs(4326)
    path = tmp_path / "片区.geojson"
    units.to_file(path, driver="GeoJSON")
    out = tmp_path / "o"
    assert coverage.main(["--project", "demo", "--out", str(out), "--by", str(path), "--no-maps", "-q"]) == 0
    sheet = openpyxl.load_workbook(out / "coverage.xlsx")["汇总"]
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("分区编码")] for row in sheet.iter_rows(min_row=2)]
    codes = {c.value for c in cells}
    assert {"350521100001", "350521100002"} <= codes
    assert all(c.data_type == "s" and c.number_format == "@" for c in cells)
    table = pd.read_csv(out / "coverage.csv", dtype=str)
    assert {"350521100001", "350521100002"} <= set(table["分区编码"])


def test_map_sources_name_the_ledger():
    facilities = pd.DataFrame({"source": ["惠安县设施台账.xlsx", "惠安县设施台账.xlsx"]})
    lines = source_lines(facilities)
    assert lines[0] == "步行路网: © OpenStreetMap contributors (ODbL 1.0)"
    assert any("惠安县设施台账.xlsx" in line and "OpenStreetMap" not in line for line in lines[1:])
    osm = source_lines(pd.DataFrame({"source": ["OpenStreetMap"]}))
    assert osm[1] == "设施: © OpenStreetMap contributors (ODbL 1.0)"


def test_english_stays_available_as_a_language_option(tmp_path):
    """``--lang en``: the same tables with the English keys and exact values (Guixi, a ledger project)."""
    out = tmp_path / "en"
    assert coverage.main(["--project", "guixi", "--out", str(out), "--no-maps", "--lang", "en", "-q"]) == 0
    book = openpyxl.load_workbook(out / "coverage.xlsx", read_only=True)
    assert book.sheetnames[:3] == ["notes", "summary", "check"] and "medical" in book.sheetnames
    summary = pd.read_excel(out / "coverage.xlsx", sheet_name="summary")
    assert {"group", "covered", "covered_pct", "budget_min"} <= set(summary.columns)
    assert set(summary["group"]) == {"elderly", "childcare", "medical", "food", "leisure", "services"}
    table = pd.read_csv(out / "coverage.csv")
    assert {"group", "covered_pct", "population"} <= set(table.columns) and "medical" in set(table["group"])
    layers = set(pyogrio.list_layers(out / "coverage.gpkg")[:, 0])
    demand = gpd.read_file(out / "coverage.gpkg", layer="demand")
    assert "residents" in demand.columns and "demand" in layers
    # The default stays Chinese.
    zh = tmp_path / "zh"
    assert coverage.main(["--project", "guixi", "--out", str(zh), "--no-maps", "-q"]) == 0
    assert "汇总" in openpyxl.load_workbook(zh / "coverage.xlsx", read_only=True).sheetnames
    assert "residents" not in gpd.read_file(zh / "coverage.gpkg", layer="居民点").columns
    # The same numbers in both.
    zh_summary = pd.read_excel(zh / "coverage.xlsx", sheet_name="汇总")
    assert zh_summary["覆盖率 (%)"].round(1).tolist() == summary["covered_pct"].round(1).tolist()
