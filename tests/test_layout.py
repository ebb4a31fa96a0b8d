"""Print layouts: paper sizes, a true round scale, north, and the rendered page reopened."""

from __future__ import annotations

import math

import numpy as np
import pypdf
import pytest
import shapely
from PIL import Image

from geo.access.coverage import accessibility
from geo.access.coverage_tables import gap_cells
from geo.errors import CRSError, InputDataError
from geo.maps import content as maps
from geo.maps import layout, style


@pytest.fixture(scope="module")
def demo(demo_project):
    project = demo_project
    acc = accessibility(project.network.cost_graph("walk"), project.demand, project.facilities)
    return project, acc, gap_cells(acc, "medical")


def _content(demo):
    project, acc, gaps = demo
    return maps.coverage_content(acc, "medical", network=project.network, gaps=gaps)


def _text(demo, **fields):
    project, acc, _ = demo
    return maps.coverage_text(acc, "medical", project_name=project.name, **fields)


def test_scale_is_the_smallest_round_one_that_fits():
    # 1000 m in 200 mm needs 1:5,000; 800 m in 100 mm needs 1:8,000 -> the next round scale is 1:10,000.
    assert layout.map_scale((1000, 800), (200, 100)) == 10_000
    # 1000 m in 200 mm exactly: 1:5,000 is round already.
    assert layout.map_scale((1000, 100), (200, 100)) == 5_000
    # 1,300 m in 100 mm -> 13,000 -> 1:15,000.
    assert layout.map_scale((1300, 10), (100, 100)) == 15_000


@pytest.mark.parametrize(("max_m", "bar_m"), [(250, 200), (425, 200), (650, 500), (2250, 2000), (12.5, 10)])
def test_scale_bar_lengths_are_round(max_m, bar_m):
    # The bar takes the longest of 1, 2 or 5 times a power of ten that fits in a quarter of the map.
    assert layout._nice_bar_m(max_m) == bar_m


def test_north_is_turned_by_the_meridian_convergence():
    # UTM 35N: true north = grid north on the central meridian (27 E); at Helsinki (24.94 E, 60.17 N)
    # the convergence is about (lon - lon0) * sin(lat) = -2.06 * 0.867 = -1.8 degrees.
    from pyproj import CRS, Transformer

    crs = CRS.from_epsg(32635)
    to_map = Transformer.from_crs(4326, crs, always_xy=True)
    assert layout.north_angle_deg(crs, *to_map.transform(27.0, 60.17)) == pytest.approx(0.0, abs=0.01)
    angle = layout.north_angle_deg(crs, *to_map.transform(24.94, 60.17))
    assert abs(angle) == pytest.approx(2.06 * math.sin(math.radians(60.17)), abs=0.1)


def test_wrap_counts_chinese_characters_double():
    lines = layout.wrap("步行预算十五分钟 walking budget", 10)
    assert all(layout._text_width(line) <= 10 for line in lines)
    assert "".join(lines).replace(" ", "") == "步行预算十五分钟walkingbudget"


@pytest.mark.parametrize(
    ("paper", "orientation", "size_mm"),
    [("A4", "landscape", (297, 210)), ("A4", "portrait", (210, 297)), ("A3", "landscape", (420, 297))],
)
def test_png_layout_has_the_paper_size_and_nothing_empty(demo, tmp_path, paper, orientation, size_mm):
    path = layout.render_layout(
        _content(demo),
        tmp_path / "导出 图" / f"覆盖 {paper}.png",
        text=_text(demo),
        paper=paper,
        orientation=orientation,
        dpi=100,
    )
    image = np.asarray(Image.open(path).convert("L"))
    expected = (round(size_mm[1] / 25.4 * 100), round(size_mm[0] / 25.4 * 100))
    assert abs(image.shape[0] - expected[0]) <= 1 and abs(image.shape[1] - expected[1]) <= 1
    boxes = layout.layout_boxes_px(paper, orientation, dpi=100)

    def ink(box, *, share=1.0, corner="all"):
        left, top, right, bottom = box
        if corner == "lower-left":  # the scale bar sits in the lower left of the map
            right = left + int((right - left) * 0.3)
            top = bottom - int((bottom - top) * 0.12)
        elif corner == "top":  # the legend starts at the top of the panel
            bottom = top + int((bottom - top) * share)
        return int((image[top:bottom, left:right] < 100).sum())

    assert ink(boxes["title"]) > 500  # the Chinese title
    assert ink(boxes["panel"], corner="top", share=0.3) > 500  # the legend
    assert ink(boxes["map"], corner="lower-left") > 300  # the scale bar and 1:N
    assert ink(boxes["footer"]) > 200  # author / unit / date


def test_pdf_layout_embeds_its_fonts_and_holds_the_chinese_text(demo, tmp_path):
    path = layout.render_layout(
        _content(demo),
        tmp_path / "覆盖.pdf",
        text=_text(demo, author="张三", organisation="惠安县自然资源局", approval_no=""),
        paper="A3",
        orientation="portrait",
    )
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == 1
    page = reader.pages[0]
    width_mm, height_mm = (float(v) / 72 * 25.4 for v in page.mediabox.upper_right)
    assert (width_mm, height_mm) == (pytest.approx(297, abs=0.5), pytest.approx(420, abs=0.5))
    words = page.extract_text()
    for expected in ("病有所医", "比例尺 1:", "审图号", "张三", "惠安县自然资源局", "OpenStreetMap", "步速"):
        assert expected in words
    fonts = page["/Resources"]["/Font"]
    assert fonts
    for font in fonts.values():
        font = font.get_object()
        if font["/Subtype"] == "/Type3":
            assert font["/CharProcs"]  # glyphs drawn in the file itself
            continue
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)[
            "/FontDescriptor"
        ].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
    assert any("NotoSansCJK" in str(f.get_object()["/BaseFont"]) for f in fonts.values())


def test_no_approval_number_unless_asked(demo, tmp_path):
    path = layout.render_layout(_content(demo), tmp_path / "a.pdf", text=_text(demo))
    assert "审图号" not in pypdf.PdfReader(path).pages[0].extract_text()


def test_an_area_layout_frames_the_area(demo, tmp_path):
    content = _content(demo)
    x0, y0, x1, y1 = content.bounds_m
    area = shapely.box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    framed = content.around(area)
    assert framed.focus is area
    assert framed.bounds_m[2] - framed.bounds_m[0] < (x1 - x0) * 0.6
    path = layout.render_layout(framed, tmp_path / "area.png", text=_text(demo), dpi=60)
    assert path.stat().st_size > 10_000


def test_bad_arguments_are_clear_errors(demo, tmp_path):
    content, text = _content(demo), _text(demo)
    with pytest.raises(InputDataError, match="纸张"):
        layout.render_layout(content, tmp_path / "a.png", text=text, paper="B5")
    with pytest.raises(InputDataError, match="方向"):
        layout.render_layout(content, tmp_path / "a.png", text=text, orientation="sideways")
    with pytest.raises(InputDataError, match="输出格式"):
        layout.render_layout(content, tmp_path / "a.svg", text=text)
    from dataclasses import replace

    with pytest.raises(CRSError, match="投影坐标系"):
        layout.render_layout(replace(content, crs="EPSG:4326"), tmp_path / "a.png", text=text)
    with pytest.raises(InputDataError, match="地图范围"):
        layout.render_layout(replace(content, bounds_m=(0, 0, 0, 10)), tmp_path / "a.png", text=text)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_layout_keeps_the_old_file(demo, tmp_path):
    from dataclasses import replace

    target = tmp_path / "map.png"
    target.write_bytes(b"old")

    def broken(ax, font, focus):
        raise RuntimeError("drawing failed")

    with pytest.raises(RuntimeError):
        layout.render_layout(replace(_content(demo), draw=broken), target, text=_text(demo))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]


def test_legend_counts_the_focus_area_only(demo):
    import re

    import matplotlib.pyplot as plt

    _, acc, _ = demo
    content = _content(demo)
    x0, y0, x1, y1 = content.bounds_m
    area = shapely.box(x0, y0, (x0 + x1) / 2, y1)
    fig, ax = plt.subplots()
    try:
        labels = [h.get_label() for h in content.draw(ax, style.cjk_font(), area)]
    finally:
        plt.close(fig)
    counted = sum(float(m.replace(",", "")) for lab in labels for m in re.findall(r"\(([\d,]+) 人\)", lab))
    inside = maps.inside_mask(acc.demand, area)
    # The five time classes (0-5, 5-10, 10-15, > 15, not reached) partition the area's residents.
    assert counted == pytest.approx(acc.demand["residents"].to_numpy()[inside].sum(), abs=3)
    assert counted < acc.demand["residents"].sum()


def test_layouts_render_alike_in_parallel_threads(demo, tmp_path):
    # Pages are drawn on their own Figure (no pyplot, no global settings), so the web app
    # renders them in its threads without a lock: each page comes out as if drawn alone.
    from concurrent.futures import ThreadPoolExecutor

    content, text = _content(demo), _text(demo)
    alone = layout.render_layout(content, tmp_path / "alone.png", text=text, dpi=60).read_bytes()
    with ThreadPoolExecutor(max_workers=3) as pool:
        paths = list(
            pool.map(lambda k: layout.render_layout(content, tmp_path / f"t{k}.png", text=text, dpi=60), range(3))
        )
    assert all(path.read_bytes() == alone for path in paths)
