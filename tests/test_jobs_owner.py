"""A job belongs to who submitted it (issue 19): only its user (any of their sessions), the
session that submitted it, or an administrator may read its status or cancel it; others get
403 with a Chinese message, in the API and in the 选址 export that draws a job."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tests.test_auth import PASSWORD, TOWN, make_app
from webapp.jobs import JobQueue

OTHER_TOWN = "350582001"


def _held():
    """A runner that waits for ``release`` (so a job stays running while the test asks about it)."""
    started, release = threading.Event(), threading.Event()

    def run(params, progress):
        started.set()
        release.wait(30)
        progress("继续 (going on)", 0.5)
        return {"ran": True}

    return run, started, release


def client_of(app, name):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    if name:
        answer = client.post("/api/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.get_json()
        client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


@pytest.fixture()
def served(tmp_path):
    app, _ = make_app(tmp_path, [("li", "planner", TOWN), ("zhao", "planner", OTHER_TOWN), ("kan", "viewer", "")])
    queue = app.extensions["linli.jobs"]
    run, started, release = _held()
    queue.runners["held"] = run
    yield app, queue, started, release
    release.set()
    queue.shutdown()


def test_only_the_owner_or_an_administrator_reads_or_cancels_a_job(served):
    app, queue, started, release = served
    job = queue.submit("held", {"sites": [[118.6, 24.9]]}, owner="addr|li-session", user="li")
    assert started.wait(10)
    li, li_again, zhao, kan, root = (client_of(app, n) for n in ("li", "li", "zhao", "kan", "root"))
    # Another planner and a viewer: 403 with a Chinese message, for the status and the cancel.
    for stranger in (zhao, kan):
        seen = stranger.get(f"/api/jobs/{job['id']}")
        assert seen.status_code == 403 and "不是您提交的" in seen.get_json()["error"]
        assert "sites" not in seen.get_json() and "params" not in seen.get_json()
    refused = zhao.post(f"/api/jobs/{job['id']}/cancel")
    assert refused.status_code == 403 and "只有提交者或管理员" in refused.get_json()["error"]
    assert queue.get(job["id"])["status"] == "running"  # the refused cancel changed nothing
    # The owner, from another session of the same account, reads it.
    assert li_again.get(f"/api/jobs/{job['id']}").get_json()["params"]["sites"] == [[118.6, 24.9]]
    # The owner cancels it.
    assert li.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    release.set()
    assert queue.wait(job["id"])["status"] == "cancelled"
    # An administrator reads and cancels anyone's.
    run, started_again, release_again = _held()  # a job of its own, held until the cancel is in
    queue.runners["held_again"] = run
    second = queue.submit("held_again", {}, owner="addr|zhao-session", user="zhao")
    assert started_again.wait(10)
    assert root.get(f"/api/jobs/{second['id']}").status_code == 200
    assert root.post(f"/api/jobs/{second['id']}/cancel").status_code == 200
    release_again.set()
    assert queue.wait(second["id"])["status"] == "cancelled"
    # Unknown jobs stay 404 (not 403) for everyone.
    assert zhao.get("/api/jobs/999999").status_code == 404
    assert zhao.post("/api/jobs/999999/cancel").status_code == 404
    actions = [(a["user_name"], a["action"]) for a in app.extensions["linli.users"].audit()]
    assert ("li", "job.cancel") in actions and ("root", "job.cancel") in actions
    assert ("zhao", "job.cancel") not in actions  # a refused cancel is not recorded as done


def test_the_user_is_recorded_with_the_job_and_never_answered(served):
    app, queue, _started, release = served
    release.set()
    job = queue.submit("held", {}, owner="a|s", user="li")
    con = sqlite3.connect(queue.path)
    assert con.execute("SELECT user_name FROM jobs WHERE id = ?", (job["id"],)).fetchone() == ("li",)
    con.close()
    answered = client_of(app, "li").get(f"/api/jobs/{job['id']}").get_json()
    assert "user_name" not in answered and "owner" not in answered


def test_a_job_submitted_through_the_api_is_its_users(tmp_path):
    """The API records the account; a job of a session without an account (single-user mode) is that session's."""
    app, _ = make_app(tmp_path, [("li", "planner", TOWN), ("zhao", "planner", OTHER_TOWN)])
    queue = app.extensions["linli.jobs"]
    li = client_of(app, "li")
    bad = li.post("/api/jobs", json={"kind": "placement", "params": {"function": "casino"}})
    assert bad.status_code == 422  # refused before the queue: nothing recorded
    job = queue.submit("project", {"path": str(tmp_path / "none")}, owner="x|y", user="li")
    queue.wait(job["id"], timeout_s=30)
    assert li.get(f"/api/jobs/{job['id']}").status_code == 200
    assert client_of(app, "zhao").get(f"/api/jobs/{job['id']}").status_code == 403
    queue.shutdown()


def test_single_user_mode_sees_every_job(tmp_path):
    from webapp import create_app

    app = create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "instance"})
    queue = app.extensions["linli.jobs"]
    job = queue.submit("project", {"path": str(tmp_path / "none")}, owner="other|session", user="")
    queue.wait(job["id"], timeout_s=30)
    client = client_of(app, None)  # the implicit administrator of loopback mode
    assert client.get(f"/api/jobs/{job['id']}").status_code == 200
    queue.shutdown()


def test_a_jobs_table_without_user_names_is_migrated(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(
        """CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, params TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        message TEXT NOT NULL DEFAULT '', progress REAL NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT '',
        result TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        INSERT INTO jobs (kind, params, status, owner, created_at, updated_at)
        VALUES ('placement', '{}', 'done', 'a|s', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00');"""
    )
    con.close()
    queue = JobQueue(path, {})
    from webapp.jobs import JobForbiddenError

    queue.check_access(1, user="li", owner="a|s", admin=False)  # the session that submitted it
    with pytest.raises(JobForbiddenError, match="不是您提交的"):
        queue.check_access(1, user="li", owner="b|t", admin=False)
    queue.check_access(1, user="", owner="", admin=True)
    queue.shutdown()


def test_the_placement_export_of_another_users_job_is_refused(served):
    """The 选址 map draws a job's sites: only for whom may read the job (the demo is loaded here)."""
    app, queue, _started, release = served
    release.set()
    job = queue.submit("held", {}, owner="a|s", user="li")
    queue.wait(job["id"], timeout_s=30)
    url = f"/api/export/map.png?map=placement&job={job['id']}"
    refused = client_of(app, "zhao").get(url)
    assert refused.status_code == 403 and "不是您提交的" in refused.get_json()["error"]
    # Its owner gets past the check (to the next one: this job is not a placement).
    mine = client_of(app, "li").get(url)
    assert mine.status_code == 422 and "不是选址任务" in mine.get_json()["error"]
