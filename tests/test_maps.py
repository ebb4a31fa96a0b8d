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
