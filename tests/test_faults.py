"""Faults (BAD_INPUTS F1, F3): saves killed at random points, planners saving at once.

Bounded in time: 200 kills of a forked saver take a few seconds.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from webapp import create_app
from webapp.plans import Feature, PlanStore, SqlitePlanStore

SQUARE = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.171], [24.938, 60.168]]]


def _features(tag: str, n: int = 25) -> list[Feature]:
    geometry = {"type": "Polygon", "coordinates": SQUARE}
    return [Feature(kind="area", name=tag, geometry=geometry, properties={"k": k, "tag": tag}) for k in range(n)]


def _consistent(store: PlanStore, plan_id: int) -> int:
    """The plan is exactly one saved version: its notes and every feature carry that version."""
    plan = store.get(plan_id)
    tag = f"v{plan['version']}"
    if plan["version"] == 1:
        assert plan["notes"] == "" and plan["features"] == []
    else:
        assert plan["notes"] == tag
        assert len(plan["features"]) == 25
        assert {f["name"] for f in plan["features"]} == {tag}
    return plan["version"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_saves_killed_at_random_points_leave_old_or_new(tmp_path):
    path = tmp_path / "plans.sqlite3"
    store = SqlitePlanStore(path)
    plan_id = store.create("断电测试 kill test")["id"]
    store.close()
    rng = random.Random(20261126)
    versions = []
    for _ in range(200):
        pid = os.fork()
        if pid == 0:  # the saver: save new versions until killed
            try:
                child = SqlitePlanStore(path)
                while True:
                    version = child.get(plan_id)["version"]
                    tag = f"v{version + 1}"
                    child.save(plan_id, version=version, notes=tag, features=_features(tag))
            finally:
                os._exit(0)
        # Kill at a random point once this saver has saved at least once (on a loaded machine a
        # fixed delay can end before the child has opened the store).
        watch = SqlitePlanStore(path)
        start, deadline = watch.get(plan_id)["version"], time.monotonic() + 30
        while watch.get(plan_id)["version"] == start and time.monotonic() < deadline:
            time.sleep(0.002)
        watch.close()
        time.sleep(rng.uniform(0.0, 0.06))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        check = SqlitePlanStore(path)
        versions.append(_consistent(check, plan_id))
        check.close()
    final = SqlitePlanStore(path)
    assert final.integrity_ok()
    assert final._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The savers made progress (the kills landed at many different points).
    assert versions[-1] > 10 and len(set(versions)) > 10


def test_two_planners_saving_at_once_one_wins(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    clients = []
    for _ in range(2):
        client = app.test_client()
        client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
        clients.append(client)
    for round_ in range(20):
        plan = clients[0].post("/api/plans", json={"name": f"并发 {round_}"}).get_json()
        barrier = threading.Barrier(2)
        statuses = {}

        def save(k, plan=plan, barrier=barrier, statuses=statuses):
            barrier.wait()
            response = clients[k].put(f"/api/plans/{plan['id']}", json={"version": 1, "notes": f"planner {k}"})
            statuses[k] = (response.status_code, response.get_json())

        threads = [threading.Thread(target=save, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(code for code, _ in statuses.values())
        assert codes == [200, 409], statuses
        winner = next(k for k, (code, _) in statuses.items() if code == 200)
        loser = 1 - winner
        assert statuses[loser][1]["current_version"] == 2
        stored = clients[0].get(f"/api/plans/{plan['id']}").get_json()
        assert stored["version"] == 2 and stored["notes"] == f"planner {winner}"


def test_disk_full_during_a_save_loses_nothing_and_recovers(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    plan = client.post("/api/plans", json={"name": "满盘"}).get_json()
    small = [{"kind": "area", "name": "一", "geometry": {"type": "Polygon", "coordinates": SQUARE}}]
    saved = client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": small}).get_json()
    # The test client runs requests in this thread: cap this thread's connection at the
    # pages it has, as a full disk would (F2).
    con = app.extensions["linli.store"]._conn()
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = [{**small[0], "name": "大" * 150, "properties": {"note": "x" * 1900}} for _ in range(200)]
    response = client.put(f"/api/plans/{plan['id']}", json={"version": saved["version"], "features": big})
    assert response.status_code == 507
    assert "磁盘已满" in response.get_json()["error"]
    after = client.get(f"/api/plans/{plan['id']}").get_json()
    assert after["version"] == saved["version"] and [f["name"] for f in after["features"]] == ["一"]
    assert client.get("/api/project").status_code == 200  # still serving
    con.execute("PRAGMA max_page_count = 1073741823")  # space returns
    again = client.put(f"/api/plans/{plan['id']}", json={"version": saved["version"], "features": big})
    assert again.status_code == 200 and len(again.get_json()["features"]) == 200
    assert app.extensions["linli.store"].integrity_ok()


# ------------------------------------------------------------- F4: long jobs


def test_a_job_interrupted_by_a_restart_is_marked_failed(tmp_path):
    from webapp.jobs import INTERRUPTED_ZH, JobQueue

    release = threading.Event()
    started = threading.Event()

    def slow(params, progress):
        progress("读取路网", 0.25)
        started.set()
        release.wait(30)
        return {"ok": True}

    first = JobQueue(tmp_path / "jobs.sqlite3", {"slow": slow})
    job = first.submit("slow", {"n": 1})
    started.wait(10)
    running = first.get(job["id"])
    assert running["status"] == "running"
    assert (running["message"], running["progress"]) == ("读取路网", 0.25)  # the stage a page shows
    # The server restarts: a new process opens the same job table.
    second = JobQueue(tmp_path / "jobs.sqlite3", {"slow": slow})
    after = second.get(job["id"])
    assert after["status"] == "failed" and after["message"] == INTERRUPTED_ZH
    release.set()
    first.shutdown()
    second.shutdown()


def test_a_jobs_table_of_an_earlier_version_gains_the_progress_column(tmp_path):
    import sqlite3

    from webapp.jobs import JobQueue

    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, params TEXT NOT NULL, "
            "status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', result TEXT, created_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL)"
        )
        con.execute("INSERT INTO jobs VALUES (1, 'x', '{}', 'done', '', '{}', 'a', 'a')")
    queue = JobQueue(path, {"quick": lambda params, progress: {"n": params["n"]}})
    assert queue.get(1)["status"] == "done"  # the old job is kept
    job = queue.wait(queue.submit("quick", {"n": 3})["id"])
    assert (job["status"], job["progress"], job["result"]) == ("done", 1.0, {"n": 3})
    queue.shutdown()


def test_placement_job_through_the_api(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    # 老有所养 has no facility in the demo: both new centers add residents (the baseline is empty).
    params = {"model": "mclp", "new": 2, "function": "elderly"}
    response = client.post("/api/jobs", json={"kind": "placement", "params": params})
    assert response.status_code == 202
    job = app.extensions["linli.jobs"].wait(response.get_json()["id"], timeout_s=120)
    assert job["status"] == "done", job["message"]
    status = client.get(f"/api/jobs/{job['id']}").get_json()
    result = status["result"]
    assert result["summary"]["status"] == "optimal" and result["summary"]["new_sites"] == 2
    assert len(result["sites"]) == 2 and {"lon", "lat", "marginal_residents"} <= set(result["sites"][0])
    assert 24.9 < result["sites"][0]["lon"] < 25.0
    # More residents covered than with the existing facilities for the two missing functions.
    elderly = next(row for row in result["coverage"] if row["function"] == "elderly")
    assert elderly["covered_after"] > elderly["covered_before"] == 0
    # A restart marks nothing done as failed; unknown jobs are 404, bad parameters 422.
    assert client.get("/api/jobs/999999").status_code == 404
    for params in ({"model": "kmeans"}, {"new": 0}, {"new": "3"}, {"method": "magic"}):
        assert client.post("/api/jobs", json={"kind": "placement", "params": params}).status_code == 422
    assert client.post("/api/jobs", json={"kind": "coverage"}).status_code == 422
    # Candidate sites drawn on the map and saved in a plan: the job chooses among them only.
    plan = client.post("/api/plans", json={"name": "候选方案"}).get_json()
    empty = client.post("/api/jobs", json={"kind": "placement", "params": {"new": 1, "plan": plan["id"]}})
    assert empty.status_code == 422 and "没有候选点" in empty.get_json()["error"]
    drawn = [
        {"kind": "candidate", "name": f"候选{k}", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]}}
        for k, s in enumerate(result["sites"])
    ]
    drawn.append({"kind": "area", "name": "区", "geometry": {"type": "Polygon", "coordinates": SQUARE}})
    assert client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": drawn}).status_code == 200
    params = {"model": "mclp", "new": 1, "plan": plan["id"], "candidates": "plan", "function": "elderly"}
    from_plan = client.post("/api/jobs", json={"kind": "placement", "params": params})
    assert from_plan.status_code == 202
    done = app.extensions["linli.jobs"].wait(from_plan.get_json()["id"], timeout_s=120)
    assert done["status"] == "done", done["message"]
    [site] = done["result"]["sites"]
    assert site["source"] == "plan"
    # Of the two network winners the one ranked first covers the most on its own: one new center goes there.
    first = result["sites"][0]
    assert (site["lon"], site["lat"]) == pytest.approx((first["lon"], first["lat"]), abs=1e-7)
    assert site["marginal_residents"] == pytest.approx(first["marginal_residents"])
    for bad in ({"candidates": "plan"}, {"candidates": "parcels", "plan": plan["id"]}):
        assert client.post("/api/jobs", json={"kind": "placement", "params": {"new": 1, **bad}}).status_code == 422
    assert client.post("/api/jobs", json={"kind": "placement", "params": {"new": 1, "plan": 999999}}).status_code == 404
    restarted = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    assert restarted.extensions["linli.jobs"].get(job["id"])["status"] == "done"


def test_disk_full_during_an_export(tmp_path, monkeypatch):
    import errno
    import tempfile

    import geopandas as gpd

    app = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    plan = client.post("/api/plans", json={"name": "导出满盘"}).get_json()
    area = {"kind": "area", "name": "一", "geometry": {"type": "Polygon", "coordinates": SQUARE}}
    client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": [area]})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    real_to_file = gpd.GeoDataFrame.to_file

    def full_disk(self, path, *args, **kwargs):
        real_to_file(self, path, *args, **kwargs)  # part of the file is written...
        raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk is full

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", full_disk)
    response = client.get(f"/api/export/plans/{plan['id']}.gpkg")
    assert response.status_code == 507 and "磁盘已满" in response.get_json()["error"]
    assert list(scratch.iterdir()) == []  # the half-written export is gone
    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", real_to_file)  # space returns
    assert client.get(f"/api/plans/{plan['id']}").get_json()["version"] == 2  # the plan is intact
    ok = client.get(f"/api/export/plans/{plan['id']}.gpkg")
    assert ok.status_code == 200 and ok.data[:15] == b"SQLite format 3"
