"""Study-area projects: the bundled demo loads whole, in one metric CRS; bad files refused."""

from __future__ import annotations

import pytest

from geo.errors import InputDataError, NetworkUnavailableError
from geo.project import load_project


def test_demo_project_loads_every_part_in_one_crs(tmp_path):
    project = load_project("demo", cache_dir=tmp_path)
    crs = project.network.crs
    assert crs.to_epsg() == 32635
    assert project.facilities.crs == crs and project.demand.crs == crs
    # Counts from the same extract as tests/test_facilities.py and tests/test_demand.py:
    # 99 POIs with a function, 59 residential buildings, 7,002 residents.
    assert len(project.facilities) == 99
    assert len(project.demand) == 59
    assert project.demand["residents"].sum() == pytest.approx(7002.11, abs=0.01)
    assert project.profile.name == "walk"
    assert project.boundary is None


def test_huian_project_needs_the_internet_or_says_so(tmp_path):
    # Real Hui'an boundary; the network is downloaded with osmnx.  Offline this must
    # stop at once with a clear message, not hang.
    try:
        project = load_project("huian", cache_dir=tmp_path)
    except NetworkUnavailableError as exc:
        assert "无网络" in str(exc)
    else:  # pragma: no cover - only with internet
        assert project.network.crs.to_epsg() == 4549
        assert project.boundary.area == pytest.approx(793e6, rel=0.01)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('name = "x"\nnetwork = "demo"\nfacilities = "osm"\n', "缺少字段"),
        ('name = "x"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "none"\ncolour = "red"\n', "未知字段"),
        ("name = [unclosed\n", "格式错误"),
        ('name = "x"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "none"\nboundary = "county:xyz"\n', "未知的县区"),
        ('name = "x"\nnetwork = "online"\nfacilities = "none"\ndemand = "none"\n', "需要边界"),
    ],
)
def test_bad_project_files(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputDataError, match=match):
        load_project(path, cache_dir=tmp_path)


def test_unknown_project_name():
    with pytest.raises(InputDataError, match="demo"):
        load_project("atlantis")
