"""Long jobs can be cancelled (issue 18): a queued job never starts, a running one stops at its
next progress report; the job table of an earlier version still opens."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from webapp import create_app
from webapp.jobs import CANCELLED_ZH, JOB_NICENESS, JobQueue


def _gate():
    """A runner that reports once, then waits for ``release``; ``started`` is set when it runs."""
    started, release = threading.Event(), threading.Event()
    calls = []

    def run(params, progress):
        calls.append(params)
        progress("等待 (waiting)", 0.1)
        started.set()
        release.wait(30)
        progress("继续 (going on)", 0.5)
        return {"ran": True}

    return run, started, release, calls


def test_a_queued_job_never_starts(tmp_path):
    gate, started, release, _ = _gate()
    later_calls = []
    queue = JobQueue(tmp_path / "jobs.sqlite3", {"gate": gate, "later": lambda p, _: later_calls.append(p) or {}})
    first = queue.submit("gate", {})
    assert started.wait(10)
    second = queue.submit("later", {"n": 2})
    cancelled = queue.cancel(second["id"])
    assert (cancelled["status"], cancelled["message"], cancelled["result"]) == ("cancelled", CANCELLED_ZH, None)
    release.set()
    assert queue.wait(first["id"])["status"] == "done"
    queue._pool.submit(lambda: None).result(10)  # the worker has passed the cancelled job
    assert later_calls == [] and queue.get(second["id"])["status"] == "cancelled"
    queue.shutdown()


def test_a_running_job_stops_at_its_next_progress_report(tmp_path):
    gate, started, release, calls = _gate()
    queue = JobQueue(tmp_path / "jobs.sqlite3", {"gate": gate})
    job = queue.submit("gate", {"n": 1})
    assert started.wait(10)
    asked = queue.cancel(job["id"])
    assert asked["status"] == "running"  # it stops at its next report, not in the middle of a step
    release.set()
    done = queue.wait(job["id"])
    assert (done["status"], done["result"], done["message"]) == ("cancelled", None, CANCELLED_ZH)
    assert done["progress"] == pytest.approx(0.1)  # the report after the cancel was not recorded
    assert len(calls) == 1
    # A finished job is left as it is; the queue takes the next job.
    assert queue.cancel(job["id"])["status"] == "cancelled"
    quick = JobQueue(tmp_path / "q.sqlite3", {"quick": lambda params, progress: {"n": params["n"]}})
    finished = quick.wait(quick.submit("quick", {"n": 4})["id"])
    assert quick.cancel(finished["id"])["status"] == "done" and quick.get(finished["id"])["result"] == {"n": 4}
    queue.shutdown()
    quick.shutdown()


def test_an_old_schema_jobs_table_opens_and_takes_cancelled_jobs(tmp_path):
    """A jobs.sqlite3 of the previous release: status checked against four states."""
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, params TEXT NOT NULL, "
            "status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')), "
            "message TEXT NOT NULL DEFAULT '', progress REAL NOT NULL DEFAULT 0, result TEXT, "
            "created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        con.execute("INSERT INTO jobs VALUES (7, 'placement', '{}', 'done', '', 1.0, '{\"n\": 1}', 'a', 'a')")
        with pytest.raises(sqlite3.IntegrityError):  # what the old constraint refuses
            con.execute("UPDATE jobs SET status = 'cancelled' WHERE id = 7")
    gate, started, release, _ = _gate()
    queue = JobQueue(path, {"gate": gate})
    old = queue.get(7)
    assert (old["status"], old["result"], old["progress"]) == ("done", {"n": 1}, 1.0)  # kept
    running = queue.submit("gate", {})
    assert running["id"] == 8  # ids go on from the old table's
    assert started.wait(10)
    queued = queue.submit("gate", {})
    assert queue.cancel(queued["id"])["status"] == "cancelled"
    queue.cancel(running["id"])
    release.set()
    assert queue.wait(running["id"])["status"] == "cancelled"
    queue.shutdown()
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "jobs_before_migration" not in tables
    # Opened again (already migrated): nothing changes.
    again = JobQueue(path, {})
    assert again.get(7)["status"] == "done" and again.get(queued["id"])["status"] == "cancelled"
    again.shutdown()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


@pytest.fixture()
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def test_cancel_a_running_placement_through_the_api(app, client):
    """The real placement runner, held at its first stage report until the cancel is in."""
    queue = app.extensions["linli.jobs"]
    placement = queue.runners["placement"]
    started, release = threading.Event(), threading.Event()
    stages = []

    def held(params, progress):
        def report(stage, share):
            progress(stage, share)  # raises once the job is cancelled
            stages.append(stage)
            started.set()
            release.wait(30)

        return placement(params, report)

    queue.runners["placement"] = held
    try:
        response = client.post("/api/jobs", json={"kind": "placement", "params": {"new": 20, "function": "elderly"}})
        assert response.status_code == 202
        job_id = response.get_json()["id"]
        assert started.wait(60)
        running = client.get(f"/api/jobs/{job_id}").get_json()
        assert running["status"] == "running" and running["message"] == "生成候选点 (candidate sites)"
        asked = client.post(f"/api/jobs/{job_id}/cancel")
        assert asked.status_code == 200 and asked.get_json()["status"] == "running"
        release.set()
        job = queue.wait(job_id, timeout_s=60)
    finally:
        queue.runners["placement"] = placement
        release.set()
    assert (job["status"], job["result"]) == ("cancelled", None)
    assert stages == ["生成候选点 (candidate sites)"]  # stopped at the next report: the reach sets
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "cancelled"


def test_cancel_a_placement_queued_behind_another_job(app, client):
    queue = app.extensions["linli.jobs"]
    gate, started, release, _ = _gate()
    queue.runners["gate"] = gate
    try:
        first = queue.submit("gate", {})
        assert started.wait(10)
        response = client.post("/api/jobs", json={"kind": "placement", "params": {"new": 2}})
        job_id = response.get_json()["id"]
        assert response.get_json()["status"] == "queued"
        cancelled = client.post(f"/api/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200
        assert (cancelled.get_json()["status"], cancelled.get_json()["result"]) == ("cancelled", None)
        release.set()
        assert queue.wait(first["id"])["status"] == "done"
        queue._pool.submit(lambda: None).result(30)
    finally:
        release.set()
        del queue.runners["gate"]
    after = client.get(f"/api/jobs/{job_id}").get_json()
    assert (after["status"], after["result"], after["progress"]) == ("cancelled", None, 0.0)  # never started


def test_cancel_bad_inputs(app, client):
    assert client.post("/api/jobs/999999/cancel").status_code == 404
    assert client.post("/api/jobs/abc/cancel").status_code == 404
    assert client.get("/api/jobs/1/cancel").status_code == 405
    # A cross-site POST without the session's CSRF token (docs/bad-inputs.md G11).
    stranger = app.test_client()
    assert stranger.post("/api/jobs/1/cancel").status_code in (400, 403)
    # A bad function for a placement is refused before anything runs.
    bad = client.post("/api/jobs", json={"kind": "placement", "params": {"function": "casino"}})
    assert bad.status_code == 422 and "casino" in bad.get_json()["error"]


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="per-thread priority is a POSIX call")
def test_jobs_run_below_the_planners_requests(tmp_path):
    """A placement in the background yields the cores to the planners' requests (nice 10 on its
    thread), while the server's own threads keep their priority."""

    def niceness(params, progress):
        return {"nice": os.getpriority(os.PRIO_PROCESS, threading.get_native_id())}

    queue = JobQueue(tmp_path / "jobs.sqlite3", {"nice": niceness})
    try:
        here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        job = queue.wait(queue.submit("nice", {})["id"])
        assert job["status"] == "done"
        assert job["result"]["nice"] == min(here + JOB_NICENESS, 19)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == here
    finally:
        queue.shutdown()
