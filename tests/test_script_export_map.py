"""scripts/export_map.py: one print layout per area, reopened; bad arguments exit 2."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pypdf
import pytest
import shapely
from PIL import Image

from geo.project import load_project
from scripts import export_map


def tiles_file(path, nx: int, ny: int):
    """``nx`` x ``ny`` rectangles over the demo network, with 编码/名称, as a WGS84 GeoJSON."""
    net = load_project("demo").network
    x0, y0, x1, y1 = net.bounds
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(ny) for i in range(nx)]
    frame = gpd.GeoDataFrame(
        {"编码": [f"A{k:02d}" for k in range(len(boxes))], "名称": [f"片区 {k + 1}" for k in range(len(boxes))]},
        geometry=boxes,
        crs=net.crs,
    ).to_crs(4326)
    path.write_text(frame.to_json(ensure_ascii=False), encoding="utf-8")
    return path


def test_one_png_per_area_in_a_chinese_folder(tmp_path):
    areas = tiles_file(tmp_path / "片区.geojson", 2, 2)
    out = tmp_path / "会议 地图"
    code = export_map.main(
        [
            "--project",
            "demo",
            "--map",
            "coverage",
            "--function",
            "medical",
            "--by",
            str(areas),
            "--format",
            "png",
            "--out",
            str(out),
            "--dpi",
            "80",
            "--author",
            "张三",
            "--approval-no",
            "-q",
        ]
    )
    assert code == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"coverage_medical_A0{k}_片区-{k + 1}.png" for k in range(4)]
    for name in files:
        with Image.open(out / name) as image:
            # A4 landscape at 80 dpi: 297 x 210 mm -> 935 x 661 px.
            assert abs(image.size[0] - 935) <= 1 and abs(image.size[1] - 661) <= 1


def test_whole_project_pdfs_of_every_kind(tmp_path):
    for kind, words in (
        ("service_areas", "服务范围"),
        ("grids", "管理网格"),
        ("placement", "新增中心"),
    ):
        code = export_map.main(
            [
                "--project",
                "demo",
                "--map",
                kind,
                "--function",
                "medical",
                "--format",
                "pdf",
                "--out",
                str(tmp_path),
                "--paper",
                "A3",
                "--orientation",
                "portrait",
                "-q",
            ]
        )
        assert code == 0, kind
        pdfs = sorted(tmp_path.glob(f"{kind}*.pdf"))
        assert len(pdfs) == 1, kind
        reader = pypdf.PdfReader(pdfs[0])
        assert len(reader.pages) == 1
        text = reader.pages[0].extract_text()
        assert words in text and "比例尺 1:" in text and "OpenStreetMap" in text


def test_coverage_without_function_draws_all_six(tmp_path):
    code = export_map.main(["--project", "demo", "--map", "coverage", "--out", str(tmp_path), "--dpi", "50", "-q"])
    assert code == 0
    assert len(list(tmp_path.glob("coverage_*.png"))) == 6


def test_file_names_drop_what_windows_refuses():
    assert export_map.file_name("coverage", "medical", "350521", 'a/b:c*"d 镇', "png") == (
        "coverage_medical_350521_a-b-c-d-镇.png"
    )


def test_unknown_unit_level_is_exit_2(tmp_path, capsys):
    code = export_map.main(["--project", "demo", "--map", "coverage", "--by", "town", "--out", str(tmp_path), "-q"])
    assert code == 2
    assert "没有" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_missing_area_file_is_exit_2(tmp_path, capsys):
    code = export_map.main(["--project", "demo", "--map", "grids", "--by", "nope.geojson", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "nope.geojson" in err and str(tmp_path) not in err


@pytest.mark.parametrize(
    "extra",
    [
        ["--minutes", "0"],
        ["--minutes", "nan"],
        ["--paper", "B5"],
        ["--format", "svg"],
        ["--map", "heat"],
        ["--min-households", "600"],
    ],
)
def test_bad_arguments_exit_2(tmp_path, extra):
    argv = ["--project", "demo", "--map", "coverage", "--out", str(tmp_path), *extra]
    with pytest.raises(SystemExit) as exc:
        export_map.main(argv)
    assert exc.value.code == 2


def test_out_must_be_a_folder(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        export_map.main(["--project", "demo", "--map", "coverage", "--out", str(target)])
    assert exc.value.code == 2
    assert json.dumps(target.read_text(encoding="utf-8")) == '"x"'
