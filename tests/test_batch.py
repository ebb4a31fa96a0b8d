"""Batches on Dask (scripts.batch): the same results as the plain loop, failures reported.

Real data: sub-areas of the bundled demo extract (central Helsinki, OSM) written as
project files by :func:`benchmarks.bench_batch.write_demo_province`, alternating the
walk and elderly profiles so the areas' results differ.  One local cluster of two
single-threaded worker processes serves the whole module.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import osmnx as ox
import pandas as pd
import pytest

from benchmarks.bench_batch import area_tables, write_demo_province
from geo.access.standards import FUNCTIONS
from geo.errors import InputDataError
from geo.io.sources import internet_reachable
from geo.network.routing import nearest_facilities
from geo.network.snapping import snap_points
from geo.project import load_project
from geo.settings import ACCESS_SEARCH_MIN
from scripts import batch
from scripts.batch_tasks import AreaOptions, chunk_groups

distributed = pytest.importorskip("distributed")

NO_MAPS = AreaOptions(maps=False)


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> list[Path]:
    """Three demo sub-areas (walk, elderly, walk)."""
    return write_demo_province(tmp_path_factory.mktemp("province"), 3)


@pytest.fixture(scope="module")
def client():
    cluster = batch.local_cluster(2)
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture
def bad_project(tmp_path) -> Path:
    """A project whose network file does not exist: fails on every attempt."""
    path = tmp_path / "bad.toml"
    path.write_text('name = "坏数据"\nnetwork = "missing.osm.pbf"\nfacilities = "none"\ndemand = "none"\n')
    return path


def _same(seq: batch.BatchReport, par: batch.BatchReport) -> None:
    pd.testing.assert_frame_equal(seq.table(), par.table())


def test_coverage_on_dask_equals_sequential(province, client, tmp_path):
    seq = batch.run_batch("coverage", province, tmp_path / "seq", options=NO_MAPS, workers=1)
    par = batch.run_batch("coverage", province, tmp_path / "dask", options=NO_MAPS, client=client)
    assert not seq.failed and not par.failed
    _same(seq, par)
    a, b = area_tables(tmp_path / "seq", "coverage"), area_tables(tmp_path / "dask", "coverage")
    assert sorted(a) == ["area00", "area01", "area02"] == sorted(b)
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])
    table = par.table()
    # 3 areas x the six functions, percentages in [0, 100].
    assert len(table) == 3 * len(FUNCTIONS)
    assert table["covered_pct"].between(0, 100).all()
    # The elderly profile (slower) covers no more than the walk profile: areas differ.
    walk = table[table["project"] == "演示分区 00"].set_index("group")["covered"]
    elderly = table[table["project"] == "演示分区 01"].set_index("group")["covered"]
    assert (elderly <= walk).all() and (elderly < walk).any()
    # Both workers took part, each reporting its peak memory.
    status = par.status()
    assert (status["status"] == "done").all() and (status["peak_rss_mb"] > 0).all()
    assert status["worker"].nunique() == 2
    summary = pd.read_csv(tmp_path / "dask" / "coverage_summary.csv", encoding="utf-8-sig")
    assert len(summary) == len(table)


@pytest.mark.parametrize("kind", ["standard", "service_areas"])
def test_other_kinds_on_dask_equal_sequential(kind, province, client, tmp_path):
    seq = batch.run_batch(kind, province[:2], tmp_path / "seq", workers=1)
    par = batch.run_batch(kind, province[:2], tmp_path / "dask", client=client)
    assert not seq.failed and not par.failed
    _same(seq, par)
    a, b = area_tables(tmp_path / "seq", kind), area_tables(tmp_path / "dask", kind)
    assert len(a) == 2 and a.keys() == b.keys()
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])
    if kind == "service_areas":
        table = par.table()
        # Nested budgets: a 15-minute area contains the 10-, which contains the 5-minute one.
        for _, rows in table.groupby(["project", "function"]):
            assert rows.sort_values("minutes")["area_km2"].is_monotonic_increasing


def test_failing_area_is_retried_and_reported(province, bad_project, client, tmp_path):
    projects = [province[0], bad_project, province[1]]
    report = batch.run_batch("coverage", projects, tmp_path, options=NO_MAPS, client=client, retries=2)
    assert [o.ok for o in report.outcomes] == [True, False, True]
    failed = report.failed[0]
    assert failed.project == str(bad_project)
    assert "路网文件不存在" in failed.error and "missing.osm.pbf" in failed.error
    assert (tmp_path / "area00" / "coverage.csv").is_file()
    assert (tmp_path / "area01" / "coverage.csv").is_file()
    assert not (tmp_path / "bad" / "coverage.csv").exists()
    written = pd.read_csv(tmp_path / "batch_summary.csv", encoding="utf-8-sig")
    assert list(written["status"]) == ["done", "failed", "done"]
    assert written.loc[1, "error"].startswith("路网文件不存在")


def test_all_counties_fail_offline_without_stopping(client, tmp_path):
    projects = batch.county_projects(tmp_path / "_projects")
    # Quanzhou's 12 counties/districts of data/boundaries/quanzhou.geojson, online networks.
    assert len(projects) == 12 and projects[0].name == "350502.toml"
    assert 'boundary = "county:350502"' in projects[0].read_text(encoding="utf-8")
    if internet_reachable(ox.settings.overpass_url):
        pytest.skip("online: the county networks would be downloaded")
    report = batch.run_batch("standard", projects, tmp_path, client=client, retries=0)
    assert len(report.failed) == 12
    assert all("无法连接 OpenStreetMap" in o.error for o in report.failed)
    assert len(pd.read_csv(tmp_path / "batch_summary.csv", encoding="utf-8-sig")) == 12


def test_main_reports_failures_and_exit_status(province, bad_project, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["standard", "--project", str(province[0]), str(bad_project), "--out", str(out)]
    assert batch.main([*argv, "--workers", "1", "--retries", "0", "-q"]) == 1
    printed = capsys.readouterr().out
    assert "1 个研究区完成, 1 个失败" in printed and "路网文件不存在" in printed
    assert (out / "area00" / "standard_check.csv").is_file()
    checks = pd.read_csv(out / "standard_summary.csv", encoding="utf-8-sig")
    # not_judged: a whole area outside its level's population is not judged as one life circle (issue 21)
    assert set(checks["verdict"]) <= {"pass", "fail", "missing", "no_residents", "not_judged"}
    with pytest.raises(SystemExit) as stop:
        batch.main([*argv, "--workers", "0"])
    assert stop.value.code == 2
    assert batch.main(["coverage", "--project", "nosuch", "--out", str(out)]) == 2
    assert "找不到项目" in capsys.readouterr().err


def test_run_batch_refuses_bad_arguments(province, tmp_path):
    with pytest.raises(InputDataError, match="未知的批处理类型 'maps'"):
        batch.run_batch("maps", province, tmp_path)
    with pytest.raises(InputDataError, match="没有项目"):
        batch.run_batch("coverage", [], tmp_path)
    with pytest.raises(InputDataError, match="--retries 不能为负"):
        batch.run_batch("coverage", province, tmp_path, retries=-1)


def test_dashboard_address_or_reason(client):
    text = batch._dashboard(client)
    if importlib.util.find_spec("bokeh") is None:
        assert text.startswith("Dask 仪表盘不可用: 未安装 bokeh")
    else:
        assert text.startswith("Dask 仪表盘 dashboard: http://127.0.0.1:")


@pytest.mark.parametrize("by", ["function", "type"])
def test_split_nearest_facilities_equals_one_process(by, client):
    project = load_project("demo")
    graph = project.network.cost_graph(project.profile)
    labels, groups = chunk_groups(project, by)
    max_time_s = ACCESS_SEARCH_MIN * 60.0
    whole = nearest_facilities(
        graph,
        snap_points(graph, project.demand.geometry),
        snap_points(graph, project.facilities.geometry),
        labels,
        groups=groups,
        max_time_s=max_time_s,
    )
    split = batch.split_nearest_facilities(client, "demo", by=by, chunks=5, max_time_s=max_time_s)
    assert split.groups == whole.groups
    np.testing.assert_array_equal(split.time_s, whole.time_s)
    np.testing.assert_array_equal(split.facility, whole.facility)
    assert np.isfinite(split.time_s).any()  # some demand reaches some facility


def test_split_refuses_bad_grouping(client):
    with pytest.raises(InputDataError, match="by='name' 无效"):
        batch.split_nearest_facilities(client, "demo", by="name")
