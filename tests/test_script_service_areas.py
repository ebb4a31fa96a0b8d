"""``python -m scripts.service_areas``: outputs on the demo, exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest

from geo.errors import InputDataError
from scripts.service_areas import main


def test_demo_to_geopackage(tmp_path, capsys):
    out = tmp_path / "输出 结果" / "服务范围.gpkg"  # C4: Chinese and spaces in the path
    assert main(["--network", "demo", "--facilities", "demo", "--out", str(out), "-q"]) == 0
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert layers == {"服务范围", "设施", "可达道路", "layer_styles"}  # + QGIS styles
    areas = gpd.read_file(out, layer="服务范围")
    assert areas.crs.to_epsg() == 4326
    assert len(areas) == 17 * 3
    assert set(areas["步行时间 (分钟)"]) == {5.0, 10.0, 15.0}
    assert (areas["面积 (m²)"] > 0).all()
    assert areas["口径说明"].str.contains("4 km/h").all()
    # WGS84 at the edge: Helsinki.
    minx, miny, maxx, maxy = areas.total_bounds
    assert 24.9 < minx < maxx < 25.0 and 60.1 < miny < maxy < 60.2
    facilities = gpd.read_file(out, layer="设施")
    assert facilities["已接入路网"].all()
    assert "17" in capsys.readouterr().out
    assert not list(out.parent.glob(".tmp-*"))


def test_geojson_rings_from_a_csv_of_facilities(tmp_path):
    csv = tmp_path / "设施.csv"
    # Excel-style GBK CSV with Chinese headers (U7); two points in central Helsinki.
    csv.write_bytes("名称,经度,纬度\n诊所甲,24.9410,60.1690\n诊所乙,24.9460,60.1660\n".encode("gb18030"))
    out = tmp_path / "rings.geojson"
    code = main(
        [
            "--network",
            "demo",
            "--facilities",
            str(csv),
            "--minutes",
            "5",
            "10",
            "--rings",
            "--profile",
            "elderly",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    bands = {(f["properties"]["起始时间 (分钟)"], f["properties"]["步行时间 (分钟)"]) for f in data["features"]}
    assert bands == {(0.0, 5.0), (5.0, 10.0)}
    assert {f["properties"]["出行方式"] for f in data["features"]} == {"老年人步行"}


@pytest.mark.parametrize(
    "args",
    [
        ["--minutes", "0"],
        ["--minutes", "-15"],
        ["--minutes", "NaN"],
        ["--minutes", "1e9"],
        ["--minutes", "abc"],
        ["--profile", "rocket"],
        ["--mode", "hull"],
        ["--width-m", "0"],
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, args):
    out = tmp_path / "x.gpkg"
    with pytest.raises(SystemExit) as exc:
        main(["--network", "demo", "--facilities", "demo", "--out", str(out), *args])
    assert exc.value.code == 2
    assert capsys.readouterr().err
    assert not out.exists()


def test_bad_output_and_inputs_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--network", "demo", "--facilities", "demo", "--out", str(tmp_path / "x.shp")])
    assert exc.value.code == 2
    # A missing network file, an empty facility file, a GDAL connection string (C3).
    empty = tmp_path / "empty.geojson"
    empty.write_text("", encoding="utf-8")
    for network, facilities in (
        (str(tmp_path / "missing.osm.pbf"), "demo"),
        ("demo", str(empty)),
        ("/vsicurl/http://example.invalid/x.osm.pbf", "demo"),
    ):
        out = tmp_path / "y.gpkg"
        assert main(["--network", network, "--facilities", facilities, "--out", str(out), "-q"]) == 2
        err = capsys.readouterr().err
        assert "错误" in err and "Traceback" not in err
        assert not out.exists()


def test_output_equal_to_input_is_refused(tmp_path):
    src = tmp_path / "fac.geojson"
    src.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Point","coordinates":[24.941,60.169]}}]}',
        encoding="utf-8",
    )
    before = src.read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(["--network", "demo", "--facilities", str(src), "--out", str(src)])
    assert exc.value.code == 2
    assert src.read_bytes() == before


def test_runs_as_a_module(tmp_path):
    out = tmp_path / "m.geojson"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.service_areas",
            "--network",
            "demo",
            "--facilities",
            "demo",
            "--minutes",
            "5",
            "--out",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.exists()


def test_csv_picked_in_amap_is_converted(tmp_path):
    from geo.access.facilities import read_facilities
    from geo.io.coords import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(118.797, 25.031)  # Hui'an county town, as Amap shows it
    csv = tmp_path / "台账.csv"
    csv.write_text(f"名称,经度,纬度\n卫生院,{float(lon):.7f},{float(lat):.7f}\n", encoding="utf-8-sig")
    got = read_facilities(csv, crs="gcj02").geometry.iloc[0]
    assert got.x == pytest.approx(118.797, abs=1e-6) and got.y == pytest.approx(25.031, abs=1e-6)
    raw = read_facilities(csv, crs="wgs84").geometry.iloc[0]
    assert abs(raw.x - 118.797) > 0.003  # unconverted it is hundreds of metres off
    # Undeclared, with no streets to judge by: the read stops and asks instead of guessing WGS84.
    with pytest.raises(InputDataError, match="没有声明坐标系"):
        read_facilities(csv)
