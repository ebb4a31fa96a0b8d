"""Admission control and the bounded job queue (issue 19): 429/503 with Retry-After, caps, expiry, stop."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest

from webapp import create_app
from webapp.jobs import STOPPED_ZH, JobQueue, QueueFullError
from webapp.limits import PER_CLIENT, Admission

CENTER = [24.9400, 60.1700]
SQUARE = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.171], [24.938, 60.168]]]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    config = {"ADMISSION_WAIT_S": 0.2, "ADMISSION_PER_CLIENT": {**PER_CLIENT, "plan": 1}}
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance"), **config})


def _client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def test_places_per_kind_and_per_client():
    admission = Admission({"compare": 2}, {"compare": 1})
    assert admission.enter("compare", "a", 0.0) == 0
    assert admission.enter("compare", "a", 0.0) == 429  # a already holds its one place
    assert admission.enter("compare", "b", 0.0) == 0
    assert admission.enter("compare", "c", 0.05) == 503  # both places taken
    admission.leave("compare", "a")
    assert admission.enter("compare", "c", 0.0) == 0
    assert admission.refused == {("compare", 429): 1, ("compare", 503): 1}


def test_bytes_per_minute_of_comparisons_per_address():
    admission = Admission({"compare": 1}, {"compare": 1})
    budget = 3_900_000
    for _ in range(4):
        assert admission.spend("compare", "10.0.0.1", 800_000, budget)
    assert not admission.spend("compare", "10.0.0.1", 800_000, budget)  # the fifth in a minute
    assert admission.spend("compare", "10.0.0.1", 50_000, budget)  # a hand-drawn area still fits
    assert admission.spend("compare", "10.0.0.2", 800_000, budget)  # another machine


def test_cap_size_drawings_past_the_minute_budget_get_429(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "instance_path": tmp_path / "i",
            "EAGER_LOAD": False,
            "ADMISSION_BYTES_PER_MIN": {"compare": 1000},
        }
    )
    client = _client(app)
    body = {"area": {"type": "Polygon", "coordinates": [[[24.9 + i * 1e-6, 60.1] for i in range(100)]]}}
    first = client.post("/api/compare", json=body)
    assert first.status_code != 429  # within the budget: the view answers (here: the ring is not closed)
    second = client.post("/api/compare", json=body)
    assert second.status_code == 429 and second.headers["Retry-After"]


def test_a_full_kind_answers_503_with_retry_after_and_others_still_pass(app):
    admission = app.extensions["linli.admission"]
    assert admission.enter("compare", "someone-else", 0.0) == 0  # the one comparison place is taken
    try:
        client = _client(app)
        response = client.post("/api/compare", json={"area": {"type": "Polygon", "coordinates": SQUARE}})
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        message = response.get_json()["error"]
        assert "服务器繁忙" in message and "server busy" in message
        # Another kind is not held up by a full one.
        evaluate = client.post("/api/evaluate", json={"geometry": {"type": "Point", "coordinates": CENTER}})
        assert evaluate.status_code == 200
    finally:
        admission.leave("compare", "someone-else")
    assert (
        _client(app).post("/api/compare", json={"area": {"type": "Polygon", "coordinates": SQUARE}}).status_code == 200
    )


def test_one_client_holding_its_places_gets_429(app):
    client = _client(app)
    with client.session_transaction() as session:
        key = f"s:{session['csrf']}"
    admission = app.extensions["linli.admission"]
    assert admission.enter("plan", key, 0.0) == 0
    try:
        response = client.post("/api/candidate-rings", json={"sites": [{"type": "Point", "coordinates": CENTER}]})
        assert response.status_code == 429 and response.headers["Retry-After"]
        assert "too many requests" in response.get_json()["error"]
        # Another planner is served meanwhile.
        other = _client(app).post("/api/candidate-rings", json={"sites": [{"type": "Point", "coordinates": CENTER}]})
        assert other.status_code == 200
    finally:
        admission.leave("plan", key)


# --------------------------------------------------------------------------------- job queue


def _blocking_queue(tmp_path):
    release = threading.Event()

    def runner(params, progress):
        release.wait(20)
        progress("work", 0.5)
        return {"ok": True}

    return JobQueue(tmp_path / "jobs.sqlite3", {"placement": runner}), release


def test_jobs_capped_per_owner_and_in_total(tmp_path):
    jobs, release = _blocking_queue(tmp_path)
    jobs.max_total = 4
    try:
        first = jobs.submit("placement", {}, owner="a")
        jobs.submit("placement", {}, owner="a")
        with pytest.raises(QueueFullError, match="上限 2"):
            jobs.submit("placement", {}, owner="a")
        jobs.submit("placement", {}, owner="b")
        jobs.submit("placement", {}, owner="c")
        with pytest.raises(QueueFullError, match="queue is full"):
            jobs.submit("placement", {}, owner="d")
        jobs.cancel(first["id"] + 1)  # a's queued job: a may submit again
        assert jobs.submit("placement", {}, owner="a")["status"] == "queued"
        assert "owner" not in jobs.get(first["id"])  # who asked is not answered
    finally:
        release.set()
        jobs.shutdown()


def test_fresh_sessions_from_one_address_are_capped_together(tmp_path):
    jobs, release = _blocking_queue(tmp_path)
    try:
        for k in range(jobs.max_per_address):
            jobs.submit("placement", {}, owner=f"addr1|session{k}")
        with pytest.raises(QueueFullError, match="your address"):
            jobs.submit("placement", {}, owner="addr1|another-fresh-session")
        assert jobs.submit("placement", {}, owner="addr2|s")["status"] == "queued"  # another machine
    finally:
        release.set()
        jobs.shutdown()


def test_submissions_per_address_are_capped_in_a_window(tmp_path):
    """Quick jobs that finish at once still count: an address may submit 12 in 10 minutes."""
    jobs, release = _blocking_queue(tmp_path)
    release.set()
    try:
        for k in range(jobs.max_per_address_window):
            jobs.wait(jobs.submit("placement", {}, owner=f"addr1|s{k}")["id"], 20)
        with pytest.raises(QueueFullError, match="too many jobs from your address"):
            jobs.submit("placement", {}, owner="addr1|fresh")
        assert jobs.submit("placement", {}, owner="addr2|s")["status"] in ("queued", "running", "done")
    finally:
        jobs.shutdown()


def test_finished_jobs_expire(tmp_path):
    jobs, release = _blocking_queue(tmp_path)
    release.set()
    old = jobs.submit("placement", {}, owner="a")
    assert jobs.wait(old["id"], 20)["status"] == "done"
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=jobs.keep_h + 1)).isoformat(timespec="seconds")
    with sqlite3.connect(jobs.path) as con:
        con.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (stamp, old["id"]))
    recent = jobs.submit("placement", {}, owner="a")
    assert jobs.wait(recent["id"], 20)["status"] == "done"
    with sqlite3.connect(jobs.path) as con:
        ids = [row[0] for row in con.execute("SELECT id FROM jobs")]
    assert ids == [recent["id"]]
    jobs.shutdown()


def test_a_stopping_server_does_not_drain_the_queue(tmp_path):
    jobs, release = _blocking_queue(tmp_path)
    submitted = [jobs.submit("placement", {}, owner=f"o{k}") for k in range(5)]
    jobs.wait(submitted[0]["id"], 0.5)  # the first starts; the others queue behind it
    jobs.shutdown()
    release.set()
    states = [jobs.wait(job["id"], 20) for job in submitted]
    assert [s["status"] for s in states[1:]] == ["failed"] * 4
    assert all(s["message"] == STOPPED_ZH for s in states[1:])
    assert states[0]["status"] in ("cancelled", "failed")  # stopped at its next report
    with pytest.raises(QueueFullError, match="stopping"):
        jobs.submit("placement", {}, owner="late")


def test_job_flood_through_the_api_gets_429_with_retry_after(app):
    jobs = app.extensions["linli.jobs"]
    release = threading.Event()
    real = jobs.runners["placement"]

    def slow(params, progress):
        release.wait(20)
        raise RuntimeError("not run")

    jobs.runners["placement"] = slow
    client = _client(app)
    try:
        answers = [client.post("/api/jobs", json={"kind": "placement", "params": {}}) for _ in range(5)]
        assert [a.status_code for a in answers] == [202, 202, 429, 429, 429]
        # Fresh sessions from the same address: two more, then the address's cap.
        fresh = [_client(app).post("/api/jobs", json={"kind": "placement", "params": {}}) for _ in range(3)]
        assert [a.status_code for a in fresh] == [202, 202, 429]
        assert "your address" in fresh[2].get_json()["error"]
        refused = answers[2]
        assert int(refused.headers["Retry-After"]) > 0 and "上限 2" in refused.get_json()["error"]
        assert "owner" not in answers[0].get_json()
    finally:
        release.set()
        for answer in [*answers[:2], *fresh[:2]]:
            jobs.wait(answer.get_json()["id"], 20)
        jobs.runners["placement"] = real
