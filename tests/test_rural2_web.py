"""The town circle's speed on the page, the check standard on the prints, English beside Chinese (issue 21).

On the demo (central Helsinki, OSM; 城镇, GB 50180-2018 by default).  The town circle (TD/T
1062-2021 乡集镇层级, data/standards/tdt1062_2021.json, 待核实): electric bicycle 20 km/h, 15 minutes.
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from webapp import create_app

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


def _client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def test_the_check_takes_the_town_speed_and_says_the_default(app):
    client = _client(app)
    default = client.get("/api/check?profile=walk&budget=15&standard=tdt1062").get_json()
    assert default["town_speed"] is None and default["town_speed_default_kmh"] == 20
    assert (
        default["town_reach_zh"].startswith("电动自行车 20 km/h、15 分钟 ≈ 5,000 m")
        and "待核实" in default["town_reach_zh"]
    )
    slow = client.get("/api/check?profile=walk&budget=15&standard=tdt1062&town_speed=12").get_json()
    assert slow["town_speed"] == 12 and slow["town_reach_zh"].startswith("电动自行车 12 km/h、15 分钟 ≈ 3,000 m")
    rides = [line["reach"] for line in slow["lines"] if line["reach"].startswith("电动自行车")]
    assert rides and all(r.startswith("电动自行车 12 km/h") for r in rides)
    # A slower town circle covers no more than the default one, line by line.
    before = {(line["unit"], line["item"]): line["measured"] for line in default["lines"]}
    for line in slow["lines"]:
        if line["measured"] is not None and line["reach"].startswith("电动自行车"):
            assert line["measured"] <= before[(line["unit"], line["item"])] + 1e-9


@pytest.mark.parametrize("value", ["0", "61", "abc", "１２", "1e3", "12.345", "-5", "nan"])
def test_a_bad_town_speed_is_a_chinese_422(app, value):
    client = _client(app)
    response = client.get(f"/api/check?standard=tdt1062&town_speed={value}")
    assert response.status_code == 422
    assert "镇级生活圈速度" in response.get_json()["error"] and "1-60" in response.get_json()["error"]
    job = client.post("/api/jobs", json={"kind": "placement", "params": {"town_speed": value}})
    assert job.status_code == 422 and "镇级生活圈速度" in job.get_json()["error"]
    prog = client.post("/api/programme", json={"features": HUB, "today": "2026-12-06", "town_speed": value})
    assert prog.status_code == 422 and "镇级生活圈速度" in prog.get_json()["error"]


def test_check_lines_carry_english_beside_the_chinese(app):
    data = _client(app).get("/api/check?profile=walk&budget=15").get_json()
    for line in data["lines"]:
        assert CJK.search(line["name_zh"])
        for key in ("name_en", "verdict_en", "required_en", "reach_en", "status_en", "note_en"):
            assert not CJK.search(line[key]), (key, line[key])
        assert line["verdict_en"] and line["name_en"] and line["note_en"].startswith("basis: the project's type: urban")
    unconfirmed = [line for line in data["lines"] if line["status"]]
    assert unconfirmed and all(line["status_en"] == "to be confirmed" for line in unconfirmed)
    tdt = _client(app).get("/api/check?standard=tdt1062&town_speed=15").get_json()
    assert tdt["town_reach_en"].startswith("electric bicycle 15 km/h, 15 min ≈ 3,750 m (township level")
    assert any(line["reach_en"].startswith("electric bicycle 15 km/h") for line in tdt["lines"])
    assert tdt["lines"][0]["required_en"] == "no range in the standard"  # the town level gives no population


HUB = [
    {
        "kind": "candidate",
        "name": "镇中心",
        "geometry": {"type": "Point", "coordinates": [24.9400, 60.1720]},
        "properties": {"centre": "镇中心", "centre_kind": "hub", "status": "open", "functions": "elderly"},
    },
    {
        "kind": "candidate",
        "name": "服务点",
        "geometry": {"type": "Point", "coordinates": [24.9450, 60.1700]},
        "properties": {
            "centre": "镇中心",
            "centre_kind": "hub",
            "status": "open",
            "site_role": "station",
            "functions": "services",
        },
    },
]


def test_the_web_placement_counts_the_town_centre_by_e_bike(app):
    client = _client(app)
    plan = client.post("/api/plans", json={"name": "镇中心辐射", "features": HUB})
    assert plan.status_code == 201, plan.get_json()

    def run(**extra) -> dict:
        params = {"plan": plan.get_json()["id"], "function": "elderly", "new": 1, "candidates": "network", **extra}
        r = client.post("/api/jobs", json={"kind": "placement", "params": params})
        assert r.status_code == 202, r.get_json()
        job = app.extensions["linli.jobs"].wait(r.get_json()["id"], 300)
        assert job["status"] == "done", job["message"]
        return job["result"]

    # 6 km/h for 15 minutes (1,500 m) against 1 km/h (250 m: less than walking, so walking alone).
    rode, crawled = run(town_speed=6), run(town_speed=1)
    before = {
        k: {row["function"]: row["covered_before"] for row in r["coverage"]} for k, r in (("6", rode), ("1", crawled))
    }
    assert before["6"]["elderly"] > before["1"]["elderly"]
    assert rode["summary"]["covered_before"] > crawled["summary"]["covered_before"]
    # The station hosts 事有所办 on foot; nothing else changes.
    assert before["6"]["services"] == before["1"]["services"]
    said = rode["centres"]
    assert said["town_reach_zh"].startswith("中心辐射的镇级中心 1 处按电动自行车 6 km/h、15 分钟 ≈ 1,500 m")
    assert said["town_reach_zh"] in said["text_zh"] and "待核实" in said["text_zh"]
    assert said["town_reach_en"].startswith("1 hub town centre(s) counted within electric bicycle 6 km/h")
    # At the standard data's 20 km/h (5 km) the town centre reaches every resident of the demo:
    # nothing is left for a new centre, and the job says so.
    params = {"plan": plan.get_json()["id"], "function": "elderly", "new": 1, "candidates": "network"}
    r = client.post("/api/jobs", json={"kind": "placement", "params": params})
    job = app.extensions["linli.jobs"].wait(r.get_json()["id"], 300)
    assert job["status"] == "failed" and "没有可由新中心覆盖的居民" in job["message"]


def test_the_programme_takes_the_town_speed_and_says_it_in_english(app):
    client = _client(app)
    r = client.post("/api/programme", json={"features": HUB, "today": "2026-12-06", "town_speed": 12})
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert data["town_reach"][0].startswith("中心辐射的镇级中心按电动自行车 12 km/h、15 分钟 ≈ 3,000 m")
    assert data["town_reach_en"][0].startswith("hub town centres reached by electric bicycle 12 km/h")
    assert len(data["notes_en"]) == len(data["notes"])


def _pdf_text(data: bytes) -> str:
    return "".join(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text().split())


def test_the_coverage_print_names_the_check_standard_and_what_is_unconfirmed(app):
    client = _client(app)
    default = client.get("/api/export/map.pdf?map=coverage&function=food")
    assert default.status_code == 200
    text = _pdf_text(default.data)
    assert "生活圈检查标准:GB50180-2018（按分区城乡类型）" in text
    tdt = _pdf_text(client.get("/api/export/map.pdf?map=coverage&function=food&standard=tdt1062").data)
    assert "生活圈检查标准:TD/T1062-2021（规划师指定）" in tdt and "TD/T1062-2021有" in tdt and "待核实" in tdt
    assert "镇级生活圈按电动自行车20km/h、15分钟" in tdt
    assert "镇级生活圈" not in text  # GB 50180 has no town level
    bad = client.get("/api/export/map.pdf?map=coverage&function=food&town_speed=99")
    assert bad.status_code == 422 and "镇级生活圈速度" in bad.get_json()["error"]


def test_export_map_names_the_check_standard(tmp_path):
    from scripts import export_map

    out = tmp_path / "maps"
    argv = ["--project", "demo", "--map", "coverage", "--function", "food", "--format", "pdf", "--out", str(out)]
    assert export_map.main([*argv, "--standard", "tdt1062", "--town-speed", "12", "-q"]) == 0
    (pdf,) = out.glob("*.pdf")
    text = _pdf_text(pdf.read_bytes())
    assert "生活圈检查标准:TD/T1062-2021（规划师指定）" in text and "待核实" in text
    assert "镇级生活圈按电动自行车12km/h、15分钟≈3,000m" in text
