"""A placement run as the panel shows it and the 选址 map prints it (issue 18): residents added
beyond the existing facilities, stages reported, the export drawing the page's own run."""

from __future__ import annotations

import io
import re
import threading

import geopandas as gpd
import numpy as np
import pypdf
import pytest
from PIL import Image

from geo.placement.centers import place_centers
from geo.workflows.maps import placement_drawing
from tests.conftest import toy_network, toy_points
from webapp import create_app
from webapp.state import PLACEMENT_DEFAULTS, get_state, run_placement

# ------------------------------------------------------------------ the baseline, on a toy street


@pytest.fixture(scope="module")
def line_street():
    """One straight 1200 m street; homes at x = 0, 600, 1200 m (10, 1, 20 residents); candidates at 300, 900 m."""
    net = toy_network([[(0, 0), (600, 0)], [(600, 0), (1200, 0)]])
    graph = net.cost_graph("walk")
    demand = gpd.GeoDataFrame({"residents": [10.0, 1.0, 20.0]}, geometry=toy_points([(0, 0), (600, 0), (1200, 0)]))
    cands = gpd.GeoDataFrame(geometry=toy_points([(300, 0), (900, 0)]))
    return graph, demand, cands


def test_residents_added_leave_out_those_existing_facilities_already_reach(line_street):
    graph, demand, cands = line_street
    # 5 minutes at 4 km/h = 333 m.  Site 300 reaches x=0 and x=600 (11); site 900 reaches x=600 and x=1200 (21).
    alone = place_centers(graph, demand, cands, model="mclp", p=2, minutes=5)
    assert alone.sites["candidate"].tolist() == [1, 0]
    assert alone.sites["marginal_residents"].tolist() == pytest.approx([21.0, 10.0])
    # Sole: x=1200 only site 900 reaches (20), x=0 only site 300 (10); x=600 both.
    assert alone.sites["sole_residents"].tolist() == pytest.approx([20.0, 10.0])
    # An existing facility at 1150 m reaches x=1200 (50 m) but not x=600 (550 m): its 20 residents
    # are the baseline.  Site 300 then adds x=0 and x=600 (11), site 900 only x=600 (1).
    existing = gpd.GeoDataFrame(geometry=toy_points([(1150, 0)]))
    plan = place_centers(graph, demand, cands, model="mclp", p=1, minutes=5, existing=existing)
    assert plan.summary["covered_before"] == pytest.approx(20.0)
    assert plan.sites["candidate"].tolist() == [0]
    assert plan.sites["marginal_residents"].tolist() == pytest.approx([11.0])
    assert plan.summary["covered_after"] - plan.summary["covered_before"] == pytest.approx(11.0)
    # An existing facility at 650 m reaches x=600 (50 m) only.  Site 900 adds x=1200 (20), not
    # x=600 (already reached), and x=600 is not its alone either: 20 and 20, not 21 and 21.
    middle = gpd.GeoDataFrame(geometry=toy_points([(650, 0)]))
    plan = place_centers(graph, demand, cands, model="mclp", p=1, minutes=5, existing=middle)
    assert plan.summary["covered_before"] == pytest.approx(1.0)
    assert plan.sites["candidate"].tolist() == [1]
    assert plan.sites["marginal_residents"].tolist() == pytest.approx([20.0])
    assert plan.sites["sole_residents"].tolist() == pytest.approx([20.0])


# ------------------------------------------------------------------ the panel's run on the demo


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


@pytest.fixture(scope="module")
def state(app):
    with app.app_context():
        return get_state()


def test_the_panels_run_counts_beyond_the_existing_facilities(state):
    stages = []
    result = run_placement(state, {"new": 3, "function": "medical"}, lambda stage, share: stages.append(share))
    summary, sites = result["summary"], result["sites"]
    fac = state.acc.facilities
    assert result["params"] == {
        **{k: PLACEMENT_DEFAULTS[k] for k in ("model", "minutes", "method", "candidates")},
        "new": 3,
        "function": "medical",
        "profile": "walk",
        "existing": int((fac["function"] == "medical").sum()),
        # h-centreweb (issue 21): no plan, so no centre counted; residents, no weight.
        "centres": "open",
        "centres_phase": None,
        "weight": None,
    }
    # Residents already within 15 minutes of a medical facility are the baseline, not "added".
    assert summary["covered_before"] > 0
    added = sum(site["marginal_residents"] for site in sites)
    assert added == pytest.approx(summary["covered_after"] - summary["covered_before"])
    assert added <= summary["residents"] - summary["covered_before"] + 1e-6
    assert all(0 <= site["sole_residents"] <= site["marginal_residents"] + 1e-6 for site in sites)
    # Stages in order: candidates, reach sets, walking times, solving, explaining, service areas.
    assert len(stages) == 6 and stages == sorted(stages) and stages[0] >= 0 and stages[-1] < 1
    # Each site's service area at the budget, labelled by its rank.
    ranks = [f["properties"]["rank"] for f in result["rings"]["features"]]
    assert sorted(ranks) == [site["rank"] for site in sites]
    assert {f["properties"]["minutes"] for f in result["rings"]["features"]} == {15.0}


def test_a_site_serving_nobody_has_no_mean_walk_and_the_result_is_strict_json(state):
    import json

    result = run_placement(state, {"new": 50, "function": "elderly"})
    json.dumps(result, allow_nan=False)  # NaN would break the page's JSON.parse
    assert any(site["mean_time_min"] is None for site in result["sites"]) or all(
        site["assigned_residents"] > 0 for site in result["sites"]
    )


def test_the_print_drawing_is_the_jobs_run(app, state):
    queue = app.extensions["linli.jobs"]
    job = queue.wait(queue.submit("placement", {**PLACEMENT_DEFAULTS, "new": 2, "function": "elderly"})["id"])
    assert job["status"] == "done", job["message"]
    result = job["result"]
    drawing = placement_drawing(state.analysis, result)
    drawn = drawing.sites.to_crs(4326)
    assert drawn["rank"].tolist() == [site["rank"] for site in result["sites"]]
    np.testing.assert_allclose(
        np.c_[drawn.geometry.x, drawn.geometry.y], [[s["lon"], s["lat"]] for s in result["sites"]], atol=1e-9
    )
    assert drawing.params == result["params"] and drawing.summary == result["summary"]
    # The run's service areas, drawn as stored: one per site, at the run's budget.
    assert sorted(drawing.site_areas["rank"]) == [site["rank"] for site in result["sites"]]
    assert set(drawing.site_areas["minutes"]) == {result["params"]["minutes"]}
    assert drawing.site_areas.crs == state.project.network.crs
    # Who is covered is walked again from the same sites at the same budget: the run's own counts.
    residents = drawing.assignment["residents"].to_numpy()
    before = drawing.assignment["covered_before"].to_numpy()
    after = drawing.assignment["covered_after"].to_numpy()
    assert residents[before].sum() == pytest.approx(result["summary"]["covered_before"])
    assert residents[after].sum() == pytest.approx(result["summary"]["covered_after"])
    assert len(drawing.existing) == result["params"]["existing"] == 0  # no elderly facility in the demo


# ------------------------------------------------------------------ the 选址 export


@pytest.fixture()
def client(app):
    return app.test_client()


def _pdf_text(data: bytes) -> str:
    """The page's text without white space (the assumption lines wrap anywhere)."""
    return re.sub(r"\s+", "", pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text())


def test_the_export_draws_the_pages_job_with_its_parameters(app, client):
    queue = app.extensions["linli.jobs"]
    params = {**PLACEMENT_DEFAULTS, "model": "pmedian", "new": 2, "function": "elderly", "minutes": 10.0}
    job = queue.wait(queue.submit("placement", params)["id"])
    assert job["status"] == "done", job["message"]
    pdf = client.get(f"/api/export/map.pdf?map=placement&function=elderly&job={job['id']}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    assert f"任务#{job['id']}" in text
    assert "模型总步行时间最小" in text and "新增中心2处" in text and "步行时间阈值10分钟" in text
    assert "候选点路网节点" in text and "老有所养" in text
    png = client.get(f"/api/export/map.png?map=placement&job={job['id']}&paper=A3&orientation=portrait")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.data)).size[1] > Image.open(io.BytesIO(png.data)).size[0]


def test_without_a_job_the_export_runs_the_panels_defaults_and_prints_them(client):
    response = client.get("/api/export/map.pdf?map=placement&function=medical")
    assert response.status_code == 200
    text = _pdf_text(response.data)
    assert "页面默认参数" in text and "模型最大覆盖" in text and "候选点路网节点" in text
    assert f"新增中心{PLACEMENT_DEFAULTS['new']}处" in text
    assert f"步行时间阈值{PLACEMENT_DEFAULTS['minutes']:g}分钟" in text


def test_export_bad_job_inputs(app, client):
    queue = app.extensions["linli.jobs"]
    base = "/api/export/map.pdf?map=placement&function=medical"
    unknown = client.get(f"{base}&job=999999")
    assert unknown.status_code == 404 and "没有编号为 999999 的任务" in unknown.get_json()["error"]
    for raw in ("abc", "-1", "1.5", "", "9" * 20):
        bad = client.get(f"{base}&job={raw}")
        assert bad.status_code == 422 and "选址任务编号" in bad.get_json()["error"], raw
    # A job of another kind.
    queue.runners["other"] = lambda params, progress: {"n": 1}
    other = queue.wait(queue.submit("other", {})["id"])
    response = client.get(f"{base}&job={other['id']}")
    assert response.status_code == 422 and "不是选址任务" in response.get_json()["error"]
    # A placement job not done: waiting behind another job, then cancelled.
    started, release = threading.Event(), threading.Event()
    queue.runners["gate"] = lambda params, progress: (started.set(), release.wait(30), {})[-1]
    try:
        gate = queue.submit("gate", {})
        assert started.wait(10)
        waiting = queue.submit("placement", {**PLACEMENT_DEFAULTS})
        response = client.get(f"{base}&job={waiting['id']}")
        assert response.status_code == 422 and "排队中" in response.get_json()["error"]
        queue.cancel(waiting["id"])
        response = client.get(f"{base}&job={waiting['id']}")
        assert response.status_code == 422 and "已取消" in response.get_json()["error"]
    finally:
        release.set()
    assert queue.wait(gate["id"])["status"] == "done"
    # A result stored by the previous release (no parameters) is refused clearly.
    with queue._connect() as con:
        con.execute("UPDATE jobs SET result = '{\"sites\": []}' WHERE id = ?", (other["id"],))
        con.execute("UPDATE jobs SET kind = 'placement' WHERE id = ?", (other["id"],))
    old = client.get(f"{base}&job={other['id']}")
    assert old.status_code == 422 and "缺少参数" in old.get_json()["error"]
