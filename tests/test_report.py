"""The one-page summary report, reopened: one A4 page, key figures, check table, scenario, fonts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pypdf
import pytest
import shapely
from PIL import Image

from geo.access.coverage import accessibility
from geo.access.coverage_tables import coverage_table, gap_cells, scenario_delta, standard_check
from geo.errors import InputDataError
from geo.maps import content as maps
from geo.maps import report
from geo.maps.layout import LayoutText


@pytest.fixture(scope="module")
def analysis(demo_project):
    project = demo_project
    graph = project.network.cost_graph("walk")
    acc = accessibility(graph, project.demand, project.facilities)
    x0, y0, x1, y1 = project.network.bounds
    site = gpd.GeoSeries([shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)], crs=project.network.crs)
    return project, acc, scenario_delta(acc, graph, site)


def test_report_pdf_is_one_a4_page_with_the_figures(analysis, tmp_path):
    project, acc, delta = analysis
    table = coverage_table(acc)
    content = maps.coverage_content(acc, "medical", network=project.network, gaps=gap_cells(acc, "medical"))
    text = LayoutText(title="覆盖分析摘要", subtitle=project.name, author="李四", assumptions=("步行 4 km/h",))
    path = report.summary_report(
        table, standard_check(acc), tmp_path / "报告 摘要.pdf", text=text, content=content, scenario=delta
    )
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == 1
    page = reader.pages[0]
    width_mm, height_mm = (float(v) / 72 * 25.4 for v in page.mediabox.upper_right)
    assert (width_mm, height_mm) == (pytest.approx(210, abs=0.5), pytest.approx(297, abs=0.5))
    words = page.extract_text()
    for expected in (
        "覆盖分析摘要",
        "主要指标",
        "病有所医",
        "标准检查",
        "方案前后对比",
        "李四",
        "OpenStreetMap",
        "比例尺",
    ):
        assert expected in words
    # The medical row of the key figures: 5,447 of 7,002 residents (the demo's coverage, tests/test_maps).
    medical = table[(table["group"] == "medical") & (table["kind"] == "function")].iloc[0]
    assert f"{medical['covered']:,.0f}" in words and f"{medical['covered_pct']:.1f}" in words
    # Before/after of the scenario: the medical share after the candidate site.
    after = delta[(delta["candidate"] == -1) & (delta["function"] == "medical")]["covered_pct_after"].iloc[0]
    assert f"{after:.1f}" in words
    fonts = page["/Resources"]["/Font"]
    for font in fonts.values():
        font = font.get_object()
        if font["/Subtype"] == "/Type3":
            continue
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        assert (
            "/FontFile2" in descendant["/FontDescriptor"].get_object()
            or "/FontFile3" in descendant["/FontDescriptor"].get_object()
        )


def test_report_png_without_map_or_scenario(analysis, tmp_path):
    _, acc, _ = analysis
    path = report.summary_report(
        coverage_table(acc), standard_check(acc), tmp_path / "a.png", text=LayoutText(title="摘要"), dpi=60
    )
    with Image.open(path) as image:
        assert abs(image.size[0] - round(210 / 25.4 * 60)) <= 1
        grey = np.asarray(image.convert("L"))
    assert (grey[: grey.shape[0] // 3] < 100).sum() > 1_000  # title and the key-figure table


def test_report_refuses_other_tables(analysis, tmp_path):
    _, acc, _ = analysis
    with pytest.raises(InputDataError, match="缺少列"):
        report.summary_report(
            coverage_table(acc).drop(columns="covered"),
            standard_check(acc),
            tmp_path / "a.pdf",
            text=LayoutText(title="x"),
        )
    with pytest.raises(InputDataError, match="输出格式"):
        report.summary_report(coverage_table(acc), standard_check(acc), tmp_path / "a.docx", text=LayoutText(title="x"))
    assert not any(tmp_path.iterdir())
