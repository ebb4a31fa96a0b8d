"""Functions beyond the six ("1+6+X"): declared in the project, analysed like the six.

Guixi (real OpenStreetMap streets, made-up county ledgers) with two extra functions: 安有所护
(the 近邻警室 and 警务室 of the ledger) and 快递物流 (its two 快递驿站, a category the shipped
vocabulary does not know), mapped in a county category table.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from geo.access.coverage import accessibility
from geo.access.coverage_tables import coverage_table, gap_cells, scenario_delta
from geo.access.standards import FUNCTIONS, MAX_EXTRA_FUNCTIONS, load_standard
from geo.access.vocabulary import load_vocabulary, parse_functions
from geo.errors import InputDataError
from geo.placement.centers import function_weights
from geo.project import load_project
from geo.settings import DATA_DIR
from geo.workflows import load_analysis, write_project
from scripts import coverage as coverage_script

GUIXI = DATA_DIR / "study_areas" / "guixi"
SAFETY, PARCELS = "安有所护", "快递物流"


def _guixi_with_extras(folder: Path) -> Path:
    (folder / "类别对照.csv").write_text(
        f"类别,服务功能,设施类型\n近邻警室,{SAFETY},\n警务室,{SAFETY},\n快递驿站,{PARCELS},\n", encoding="utf-8"
    )
    path = folder / "guixi_x.toml"
    path.write_text(
        f'name = "贵溪 1+6+X"\nboundary = "none"\nnetwork = "{(GUIXI / "guixi.osm").as_posix()}"\n'
        f'facilities = "{(GUIXI / "设施台账.xlsx").as_posix()}"\ndemand = "{(GUIXI / "小区台账.xlsx").as_posix()}"\n'
        f'categories = "类别对照.csv"\nfunctions = ["{SAFETY}", "{PARCELS}"]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def project_file(tmp_path_factory):
    return _guixi_with_extras(tmp_path_factory.mktemp("guixi_x"))


@pytest.fixture(scope="module")
def analysis(project_file):
    return load_analysis(project_file, cache_dir=None)


# ----------------------------------------------------------------------------- declaring


def test_extra_functions_follow_the_six_and_are_their_own_names():
    standard = load_standard().with_extra_functions([SAFETY, " 快递物流 "])
    assert list(standard.functions) == [*FUNCTIONS, SAFETY, PARCELS]
    assert standard.extra_functions == (SAFETY, PARCELS)
    assert standard.function_label(PARCELS) == PARCELS and standard.function_label("medical") == "病有所医"
    assert load_standard().functions == FUNCTIONS  # the shared default is untouched
    with pytest.raises(InputDataError, match=r"无效，可选: 老有所养.*安有所护"):
        standard.function_label("parking")


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([""], "1-20 个字"),
        (["安有所护|金融"], "分隔符"),
        (["安有 所护"], "分隔符"),
        (["x" * 21], "1-20 个字"),
        (["病有所医"], "重名"),
        (["Medical"], "重名"),
        (["全部"], "重名"),
        ([SAFETY, SAFETY], "重名"),
        ([f"功能{k}" for k in range(MAX_EXTRA_FUNCTIONS + 1)], f"最多 {MAX_EXTRA_FUNCTIONS} 项"),
    ],
)
def test_bad_extra_function_names_are_refused(names, message):
    with pytest.raises(InputDataError, match=message):
        load_standard().with_extra_functions(names)


def test_ledger_words_name_extra_functions_and_all_includes_them(tmp_path):
    functions = load_standard().with_extra_functions([SAFETY]).functions
    assert parse_functions(f"病有所医|{SAFETY}", functions=functions) == ("medical", SAFETY)
    assert parse_functions("全部", functions=functions) == (*FUNCTIONS, SAFETY)
    assert parse_functions("六大功能", functions=functions) == tuple(FUNCTIONS)
    with pytest.raises(InputDataError, match=f"可用: .*{SAFETY}"):
        parse_functions("金融便民", functions=functions)
    # Without the declaration the word is not a function.
    with pytest.raises(InputDataError, match="服务功能「安有所护」无效"):
        parse_functions(SAFETY)
    table = tmp_path / "类别.csv"
    table.write_text(f"类别,服务功能\n快递驿站,{PARCELS}\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"类别\.csv 第 2 行服务功能「快递物流」无效"):
        load_vocabulary(table)
    standard = load_standard().with_extra_functions([PARCELS])
    assert load_vocabulary(table, standard=standard).lookup("花园快递驿站") is None  # whole words only
    assert load_vocabulary(table, standard=standard).lookup("快递驿站").functions == (PARCELS,)


def test_project_functions_must_be_a_list_of_names(tmp_path):
    path = _guixi_with_extras(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(f'["{SAFETY}", "{PARCELS}"]', f'"{SAFETY}"'), "utf-8")
    with pytest.raises(InputDataError, match="functions 应为名称列表"):
        load_project(path, cache_dir=None)


# ----------------------------------------------------------------------------- analysed like the six


def test_the_ledger_rows_serve_the_declared_functions(analysis):
    fac = analysis.project.facilities
    assert analysis.project.standard.extra_functions == (SAFETY, PARCELS)
    safety = fac[fac["function"] == SAFETY]
    # the two police rooms, and the two 邻里中心 (全部: every function the county declares)
    assert sorted(safety["name"]) == sorted(["花园近邻警室", "东门警务室", "雄石邻里中心", "东门邻里中心"])
    assert set(safety["function_zh"]) == {SAFETY}
    assert sorted(fac.loc[fac["function"] == PARCELS, "name"]) == sorted(
        ["东门快递驿站", "花园快递驿站", "雄石邻里中心", "东门邻里中心"]
    )
    assert "快递驿站" not in analysis.project.reports["facilities"].unknown_categories
    centre = fac[fac["name"] == "雄石邻里中心"]
    assert len(centre) == 8 and f"GX-LL-001（{SAFETY}）" in set(centre["facility_id"])


def test_an_extra_function_is_covered_exactly_as_a_six_function_would_be(analysis):
    acc = analysis.accessibility
    assert acc.functions.groups == (*FUNCTIONS, SAFETY, PARCELS)
    table = coverage_table(acc)
    whole = table[(table["unit"] == "全域") & (table["kind"] == "function")].set_index("group")
    assert {SAFETY, PARCELS} <= set(whole.index) and whole.loc[SAFETY, "name_zh"] == SAFETY
    assert whole.loc[SAFETY, "budget_min"] == 15.0 and whole.loc[SAFETY, "facilities"] == 4
    # The same facilities relabelled as one of the six give the same residents covered.
    fac = analysis.project.facilities
    as_six = fac[fac["function"] == SAFETY].assign(function="services", type="")
    plain = accessibility(analysis.graph, analysis.project.demand, as_six, minutes=15)
    expected = float(plain.demand["residents"].to_numpy()[plain.covered("services")].sum())
    assert whole.loc[SAFETY, "covered"] == pytest.approx(expected)
    assert 0 < whole.loc[SAFETY, "covered"] < whole.loc[SAFETY, "population"]
    np.testing.assert_allclose(acc.times_s(SAFETY), plain.times_s("services"))
    # Gaps, placement weights and candidate deltas take the extra function like the six.
    gaps = gap_cells(acc, SAFETY)
    assert gaps["uncovered"].sum() == pytest.approx(whole.loc[SAFETY, "population"] - expected, rel=1e-9)
    weights = function_weights(acc, (SAFETY,))
    assert weights.sum() == pytest.approx(whole.loc[SAFETY, "population"] - expected)
    site = analysis.project.demand.iloc[[int(np.argmax(weights))]]
    delta = scenario_delta(acc, analysis.graph, site, functions=[SAFETY])
    assert delta.loc[delta["candidate"] == -1, "newly_covered"].iloc[0] > 0
    assert set(delta["function_zh"]) == {SAFETY}


def test_the_coverage_script_writes_a_sheet_per_extra_function(project_file, tmp_path):
    out = tmp_path / "out"
    assert coverage_script.main(["--project", str(project_file), "--out", str(out), "--no-maps", "-q"]) == 0
    book = openpyxl.load_workbook(out / "coverage.xlsx", read_only=True)
    assert {SAFETY, PARCELS} <= set(book.sheetnames)
    summary = pd.read_excel(out / "coverage.xlsx", sheet_name="汇总")
    assert SAFETY in set(summary.iloc[:, 0].astype(str)) | set(summary.astype(str).stack())


# ----------------------------------------------------------------------------- page and new study area


def test_the_page_offers_and_draws_the_extra_functions(project_file, tmp_path):
    from webapp import create_app

    app = create_app({"TESTING": True, "instance_path": tmp_path / "instance", "PROJECT": str(project_file)})
    client = app.test_client()
    assert client.get("/api/project").get_json()["functions"][SAFETY] == SAFETY
    page = client.get(f"/?function={SAFETY}").get_data(as_text=True)
    assert f'<option value="{SAFETY}" selected>{SAFETY}</option>' in page  # its name once: the key is the name
    times = client.get(f"/api/layers/times?function={SAFETY}")
    assert times.status_code == 200 and times.get_json()["features"]
    assert client.get("/api/layers/times?function=parking").status_code == 422


def test_a_new_study_area_declares_its_extra_functions(tmp_path):
    for name in ("设施台账.xlsx",):
        (tmp_path / name).write_bytes((GUIXI / name).read_bytes())
    (tmp_path / "guixi.osm").symlink_to(GUIXI / "guixi.osm")
    (tmp_path / "类别.csv").write_text(f"类别,服务功能\n快递驿站,{PARCELS}\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="重名"):
        write_project(tmp_path, name="x", network="guixi.osm", functions=["病有所医"])
    assert not (tmp_path / "project.toml").exists()
    path = write_project(
        tmp_path,
        name="贵溪",
        network="guixi.osm",
        facilities="设施台账.xlsx",
        functions=[PARCELS],
        categories="类别.csv",
    )
    project = load_project(path, cache_dir=None)
    assert project.standard.extra_functions == (PARCELS,)
    assert (project.facilities["function"] == PARCELS).sum() == 4


def test_a_county_sized_upload_builds_a_study_area_with_its_stages_reported(tmp_path):
    from webapp import create_app

    # The app-wide cap is far below the street file; a new study area has its own, larger one.
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i", "MAX_CONTENT_LENGTH": 100_000})
    client = app.test_client()
    token = client.get("/api/csrf").get_json()["token"]

    def post(**fields):
        # Encoded in memory: the test client's own spooling of a large body leaves a temporary file open.
        with (GUIXI / "guixi.osm").open("rb") as osm:
            values = {"name": "贵溪 1+6+X", "network": FileStorage(osm, "guixi.osm"), **fields}
            stream, length, boundary = stream_encode_multipart(values, use_tempfile=False)
            body = stream.read()
        assert length > 1_000_000
        return client.post(
            "/api/projects",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            headers={"X-CSRF-Token": token},
        )

    table = f"类别,服务功能\n快递驿站,{PARCELS}\n".encode()
    response = post(functions=f"{SAFETY}、{PARCELS}", categories=FileStorage(io.BytesIO(table), "类别.csv"))
    assert response.status_code == 202, response.get_data(as_text=True)
    job = app.extensions["linli.jobs"].wait(response.get_json()["id"], timeout_s=300)
    assert job["status"] == "done", job["message"]
    assert job["progress"] == 1.0
    project = client.get("/api/project").get_json()
    assert project["name"] == "贵溪 1+6+X" and list(project["functions"])[-2:] == [SAFETY, PARCELS]
    app.config["MAX_PROJECT_UPLOAD"] = 100_000
    assert post().status_code == 413
