"""Faults on a real full disk, truncated caches, unusable folders (issue 19, BAD_INPUTS F2).

The full disk is real: a 1 MiB tmpfs mounted for the test (the tests run as root in CI);
where mounting is not allowed the tests are skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest

from webapp import create_app

SQUARE = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.171], [24.938, 60.168]]]


@pytest.fixture()
def small_disk(tmp_path):
    """A folder on a 1 MiB tmpfs; ``fill(free_bytes)`` leaves about that much space."""
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()[:120]}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder, free_bytes: int):
    filler = folder / "filler"
    stat = os.statvfs(folder)
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(stat.f_bavail * stat.f_frsize - free_bytes, 0))
    return filler


def _client(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return app, client


def test_a_real_full_disk_during_a_geopackage_export(tmp_path, small_disk, monkeypatch):
    _, client = _client(tmp_path)
    plan = client.post("/api/plans", json={"name": "导出满盘"}).get_json()
    area = {"kind": "area", "name": "一", "geometry": {"type": "Polygon", "coordinates": SQUARE}}
    client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": [area]})
    monkeypatch.setattr(tempfile, "tempdir", str(small_disk))  # the export's scratch folder is on the small disk
    filler = _fill(small_disk, 48 * 1024)
    response = client.get(f"/api/export/plans/{plan['id']}.gpkg")
    assert response.status_code == 507
    assert "磁盘已满" in response.get_json()["error"] and "/" not in response.get_json()["error"]
    assert [p.name for p in small_disk.iterdir()] == ["filler"]  # no half-written GeoPackage or journal
    filler.unlink()  # space returns
    ok = client.get(f"/api/export/plans/{plan['id']}.gpkg")
    assert ok.status_code == 200 and ok.data[:15] == b"SQLite format 3"
    assert [p.name for p in small_disk.iterdir()] == []


def test_the_job_store_on_a_real_full_disk(small_disk):
    app = create_app({"TESTING": True, "instance_path": small_disk / "instance"})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    filler = _fill(small_disk, 0)
    # Two jobs' rows fit in the pages the store has: fill those too.
    statuses = [client.post("/api/jobs", json={"kind": "placement", "params": {"new": 1}}).status_code]
    while statuses[-1] == 202 and len(statuses) < 200:
        statuses.append(client.post("/api/jobs", json={"kind": "placement", "params": {"new": 1}}).status_code)
    response = client.post("/api/jobs", json={"kind": "placement", "params": {"new": 1}})
    assert response.status_code == 507, statuses
    assert "磁盘已满" in response.get_json()["error"] and "sqlite" not in response.get_json()["error"].lower()
    assert client.get("/api/project").status_code == 200  # still serving
    filler.unlink()  # space returns: jobs are recorded again
    job = client.post("/api/jobs", json={"kind": "placement", "params": {"new": 1}})
    assert job.status_code == 202
    assert app.extensions["linli.jobs"].wait(job.get_json()["id"], timeout_s=120)["status"] == "done"
