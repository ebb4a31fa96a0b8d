"""A person removed from the command line while the server runs stays removed (issue 19).

The server keeps the project's grids in memory between edits.  Before, ``linli users
forget-person`` rewrote the stored grids under the same version, so the running server's
next edit wrote its in-memory grids (with the person) back.  Now the removal is a new grid
version: the server sees the store's version move, reads the grids again, and a page still
showing the old version gets the usual 409.

A real server process (``python -m webapp`` under waitress on a free loopback port, the demo
project) and the real command (``python -m linli users forget-person``) as a second process.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from webapp.plans import open_store
from webapp.plans.base import FORGET_SUMMARY, unpack_json

ROOT = Path(__file__).resolve().parents[1]
PHONE = "13812345678"
START_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Page:
    """A browser's side of the conversation: cookies, the CSRF token, JSON in and out."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = ""

    def call(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="GET" if body is None else "POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("X-CSRF-Token", self.token)
        try:
            with self.opener.open(request, timeout=120) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    """The demo served by ``python -m webapp`` in its own process, its plans in the instance
    folder's SQLite or in PostgreSQL (schema ``huian``, given to the server and the command by
    ``LINLI_PLAN_DB``/``LINLI_PLAN_DB_SCHEMA``); yields (page, instance folder, plan store location)."""
    instance = tmp_path / "instance"
    port = _free_port()
    env = _env()
    if request.param == "postgresql":
        env["LINLI_PLAN_DB"] = request.getfixturevalue("postgis_url")
        env["LINLI_PLAN_DB_SCHEMA"] = "huian"
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "webapp", "--instance", str(instance), "--port", str(port), "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    page = Page(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text(errors="replace")[-2000:]
            try:
                status, body = page.call("/api/csrf")
                if status == 200:
                    page.token = body["token"]
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        yield page, instance, env
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LINLI_PLAN_DB", None)
    env.pop("LINLI_PLAN_DB_SCHEMA", None)
    return env


def _forget_from_the_command_line(instance: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "linli", "users", "forget-person", "--instance", str(instance)]
    return subprocess.run(
        [*command, "--name", "张三", "--phone", PHONE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_removal_from_the_command_line_is_not_undone_by_the_running_server(served):
    page, instance, env = served
    status, grids = page.call("/api/grids")
    assert status == 200, grids
    features = grids["grids"]["features"]
    first, second = features[0]["properties"]["code"], features[1]["properties"]["code"]
    version = grids["version"]
    status, answer = page.call(
        "/api/grids/edit",
        {"op": "set", "grid": first, "field": "grid_member", "value": f"张三 {PHONE}", "version": version},
    )
    assert status == 200, answer
    version = answer["version"]

    done = _forget_from_the_command_line(instance, env)
    assert done.returncode == 0, done.stderr
    assert "已删除 (removed)" in done.stdout

    # The page still at the old version: refused, told what happened since (without the person).
    status, stale = page.call(
        "/api/grids/edit", {"op": "set", "grid": second, "field": "branch", "value": "东区支部", "version": version}
    )
    assert status == 409, stale
    assert stale["current_version"] == version + 1
    assert FORGET_SUMMARY in json.dumps(stale, ensure_ascii=False) and PHONE not in json.dumps(stale)
    # Reloaded, the page edits on: the server's grids are the store's, without the person.
    status, grids = page.call("/api/grids")
    assert grids["version"] == version + 1 and PHONE not in json.dumps(grids, ensure_ascii=False)
    status, answer = page.call(
        "/api/grids/edit", {"op": "set", "grid": second, "field": "branch", "value": "东区支部", "version": version + 1}
    )
    assert status == 200, answer
    store = open_store(env.get("LINLI_PLAN_DB") or instance / "plans.sqlite3", schema=env.get("LINLI_PLAN_DB_SCHEMA"))
    try:
        project = _project(instance, env)
        state = json.dumps(unpack_json(store.grid_plan(project)["state"]), ensure_ascii=False)
        history = store.grid_history(project)
    finally:
        store.close()
    assert "东区支部" in state and PHONE not in state and "张三" not in state
    assert [h["version"] for h in history[:3]] == [version + 2, version + 1, version]
    assert history[1]["summary"] == FORGET_SUMMARY and history[1]["user"].startswith("cli:")


def _project(instance: Path, env: dict[str, str]) -> str:
    """The one project whose grids are stored."""
    if "LINLI_PLAN_DB" in env:
        import psycopg

        with psycopg.connect(env["LINLI_PLAN_DB"]) as con:
            return con.execute("SELECT project FROM huian.grid_plans").fetchone()[0]
    with sqlite3.connect(instance / "plans.sqlite3") as con:
        return con.execute("SELECT project FROM grid_plans").fetchone()[0]
