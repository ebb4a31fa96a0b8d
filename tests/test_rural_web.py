"""The page's life-circle check (/api/check) and the schools' layer, on the demo (issue 21).

The demo (central Helsinki, OSM) is of type 城镇 without unit types: GB 50180-2018 by default.
It has three amenity=school (no isced:level, no 小学/中学 in their names): 学校（未分学段）.
"""

from __future__ import annotations

import pytest

from webapp import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})
    return app.test_client()


def test_the_check_of_the_scene_names_standard_and_clause_per_line(client):
    data = client.get("/api/check?profile=walk&budget=15").get_json()
    assert data["standard"] == "auto" and data["default_code"] == "GB 50180-2018"
    assert data["standards"] == ["GB 50180-2018"]
    lines = data["lines"]
    assert lines[0]["item"] == "scale" and lines[0]["clause"] == "GB 50180-2018 表4.0.1"
    assert all(line["standard"] == "GB 50180-2018" and line["clause"] for line in lines)
    # Schools are checked in their own group: the demo has no 小学/初中, so both are missing or not judged.
    by_item = {line["item"]: line for line in lines}
    assert {"primary_school", "middle_school"} <= set(by_item)
    assert by_item["primary_school"]["measured"] == 0 and by_item["primary_school"]["status"] == "待核实"
    assert "childcare" not in {line["item"] for line in lines}


def test_the_planners_standard_and_profile(client):
    data = client.get("/api/check?profile=elderly&budget=10&standard=tdt1062").get_json()
    assert data["standards"] == ["TD/T 1062-2021"] and data["profile"] == "elderly"
    reach = [line["reach"] for line in data["lines"] if line["reach"]]
    # The town level rides (e-bike 20 km/h); the village's items are walked at the scene's elderly speed.
    assert any(r.startswith("电动自行车 20 km/h") for r in reach)
    assert any(r.startswith("老年人步行") or r.startswith("步行") for r in reach)
    assert all(line["status"] == "待核实" for line in data["lines"])  # every TD/T figure is unconfirmed


@pytest.mark.parametrize("query", ["standard=gb", "standard=tdt1062&profile=car", "budget=0"])
def test_bad_check_requests_are_422(client, query):
    response = client.get(f"/api/check?{query}")
    assert response.status_code == 422 and response.get_json()["error"]


def test_the_schools_layer_by_window(client):
    bbox = "24.90,60.15,24.99,60.19"
    data = client.get(f"/api/view/facilities?bbox={bbox}&zoom=15&function=education").get_json()
    assert len(data["features"]) == 3
    assert {f["properties"]["kind"] for f in data["features"]} == {"学校（未分学段）"}
    # A group of its own has facilities on the map, no walking times or gaps of a function.
    assert client.get(f"/api/view/times?bbox={bbox}&zoom=15&function=education").status_code == 422


def test_the_page_lists_the_schools_layer_and_its_legend_entry(client):
    zh = client.get("/?lang=zh").get_data(as_text=True)
    assert 'data-function="education"' in zh and "学有所教（学校）" in zh
    assert 'id="ru-check-standard"' in zh and "即 GB 50180-2018" in zh
    en = client.get("/?lang=en").get_data(as_text=True)
    assert "Education (schools)" in en and "i.e. GB 50180-2018" in en


def test_the_report_names_the_checks_standard_as_chosen(client):
    import io

    import pypdf

    def text(query: str) -> str:
        response = client.get(f"/api/export/report.pdf?function=food{query}")
        assert response.status_code == 200
        return "".join(pypdf.PdfReader(io.BytesIO(response.data)).pages[0].extract_text().split())

    default = text("")
    assert "生活圈检查标准:GB50180-2018（按分区城乡类型）" in default and "人口口径" in default  # no line lost
    assert "生活圈检查标准:TD/T1062-2021（规划师指定）" in text("&standard=tdt1062&profile=walk&budget=15")


def test_the_programme_says_a_hubs_town_centre_rides(tmp_path_factory):
    # A hub (中心辐射) on the demo's streets: its town centre is judged by e-bike, and the page is told.
    app = create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("hub")})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]

    def plan(kind: str, station_role: str) -> list[dict]:
        common = {"centre": "镇中心", "centre_kind": kind, "status": "open"}
        return [
            {"kind": "candidate", "name": "镇中心", "geometry": {"type": "Point", "coordinates": [24.9400, 60.1720]},
             "properties": common},
            {"kind": "candidate", "name": "服务点", "geometry": {"type": "Point", "coordinates": [24.9450, 60.1700]},
             "properties": {**common, "site_role": station_role, "functions": "services"}},
        ]  # fmt: skip

    hub = client.post("/api/programme", json={"features": plan("hub", "station"), "today": "2026-12-06"})
    assert hub.status_code == 200, hub.get_json()
    said = hub.get_json()["town_reach"]
    assert (
        len(said) == 1 and said[0].startswith("中心辐射的镇级中心按电动自行车 20 km/h、15 分钟") and "待核实" in said[0]
    )
    linked = client.post("/api/programme", json={"features": plan("linked", ""), "today": "2026-12-06"})
    assert linked.status_code == 200 and linked.get_json()["town_reach"] == []  # no hub: nothing said
