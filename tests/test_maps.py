"""Static maps: the Chinese font and a map written on the demo."""

from __future__ import annotations

import pytest

from geo.access.coverage import accessibility
from geo.access.coverage_tables import gap_cells
from geo.maps import content as maps
from geo.maps import style
from geo.project import load_project


def test_a_cjk_font_is_installed():
    # make setup installs Debian's fonts-noto-cjk; without it the maps cannot show Chinese.
    assert style.cjk_font() in style.CJK_FONTS


def test_missing_cjk_font_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(style, "CJK_FONTS", ("没有这种字体 No Such Font",))
    with pytest.raises(style.MissingFontError, match="fonts-noto-cjk"):
        style.cjk_font.__wrapped__()


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_coverage_map_on_the_demo(tmp_path, suffix):
    project = load_project("demo")
    acc = accessibility(project.network.cost_graph("walk"), project.demand, project.facilities)
    path = maps.coverage_map(
        acc, "medical", tmp_path / f"地图{suffix}", network=project.network, gaps=gap_cells(acc, "medical")
    )
    data = path.read_bytes()
    assert data[:4] == (b"\x89PNG" if suffix == ".png" else b"%PDF")
    assert len(data) > 20_000


def test_a_county_network_is_simplified_and_rasterised_in_a_pdf(tmp_path):
    # Issue 17: a county's half a million street pieces were 10 MB of vector paths per PDF.
    # Above RASTER_ABOVE pieces the streets are one image at the page's resolution;
    # below it they stay vector lines (a town's map prints sharp at any zoom).
    from types import SimpleNamespace

    import numpy as np
    import shapely
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.path import Path

    from geo.maps.artists import line_paths
    from geo.maps.content import RASTER_ABOVE, _draw_base, paper_metres_per_mm, street_lines

    def grid(n: int, step: float = 50.0) -> SimpleNamespace:
        # Horizontal streets with a wiggle every metre (vertices a print cannot show).
        xs = np.arange(0, step + 1e-9, 1.0)
        lines = [
            shapely.LineString(np.column_stack([i * step + xs, j * step + 0.01 * np.sin(xs)]))
            for i in range(n)
            for j in range(n)
        ]
        return SimpleNamespace(edge_geometry=np.array(lines, dtype=object))

    sizes = {}
    for n in (20, int(np.ceil(np.sqrt(RASTER_ABOVE))) + 5):
        net = grid(n)
        fig = Figure(figsize=(11.7, 8.3), dpi=150)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
        ax.set_xlim(0, n * 50.0)
        ax.set_ylim(0, n * 50.0)
        lines = street_lines(ax, net)
        assert len(lines) == n * n
        # 51 vertices per street, simplified to 0.1 mm on paper: two remain.
        assert paper_metres_per_mm(ax) > 0.1
        assert shapely.get_num_coordinates(lines).max() == 2
        # Gathered into a few compound paths, one move-to per street.
        paths = line_paths(lines)
        assert len(paths) == -(-n * n // 256)
        codes = np.concatenate([p.codes for p in paths])
        assert (codes == Path.MOVETO).sum() == n * n and codes.size == 2 * n * n
        _draw_base(ax, crs="EPSG:32650", network=net)
        (collection,) = ax.collections
        assert collection.get_rasterized() == (n * n > RASTER_ABOVE)
        out = tmp_path / f"{n}.pdf"
        fig.savefig(out, format="pdf", dpi=150)
        sizes[n] = out.stat().st_size
        assert (b"/Subtype /Image" in out.read_bytes()) == (n * n > RASTER_ABOVE)
    assert max(sizes.values()) < 2_000_000


def test_artists_draw_polygons_with_holes_and_outlines():
    import numpy as np
    import shapely
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from geo.maps.artists import add_lines, add_polygons

    ring = shapely.box(0, 0, 10, 10).difference(shapely.box(4, 4, 6, 6))
    multi = shapely.MultiPolygon([shapely.box(20, 0, 22, 2), shapely.box(30, 0, 32, 2)])
    fig = Figure(figsize=(4, 2), dpi=50)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-1, 33)
    ax.set_ylim(-1, 11)
    polys = add_polygons(ax, [ring, multi, None, shapely.Polygon()], color="red", alpha=1.0, zorder=1)
    assert len(polys.get_paths()) == 3  # the ring (with its hole) and the two parts
    lines = add_lines(ax, [ring, shapely.LineString([(0, 0), (5, 5)])], color="black", linewidth=1, zorder=2)
    (path,) = lines.get_paths()  # three lines in one compound path
    assert (path.codes == 1).sum() == 3
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())
    # The hole stays unfilled: the pixel at (5, 5) is white, the one at (2, 2) red.
    x, y = ax.transData.transform([(5, 5), (2, 2)]).astype(int).T
    h = pixels.shape[0]
    hole, filled = pixels[h - y[0], x[0], :3].astype(int), pixels[h - y[1], x[1], :3].astype(int)
    assert hole.min() > 240
    assert filled[0] > 200 and filled[1:].max() < 40


def test_line_parts_of_mixed_geometries():
    # Streets alone pass as they are; outlines of polygons, parts of multi-lines, no missing or empty.
    import numpy as np
    import shapely

    from geo.maps.artists import _lines_of

    a, b = shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(0, 1), (1, 1)])
    streets = np.array([a, None, shapely.LineString(), b], dtype=object)
    assert [g.wkt for g in _lines_of(streets)] == [a.wkt, b.wkt]
    mixed = np.array([shapely.box(0, 0, 2, 2).difference(shapely.box(0.5, 0.5, 1, 1)), shapely.MultiLineString([a, b])])
    parts = _lines_of(mixed)
    assert [g.geom_type for g in parts] == ["LineString"] * 4
    assert sorted(round(g.length, 6) for g in parts) == [1.0, 1.0, 2.0, 8.0]
