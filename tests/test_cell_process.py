"""geo.network.cell_process: street cells built in a spawned child process."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import shapely

import geo.network.cell_process as cell_process
from geo.network.street_cells import build_street_cells
from tests.test_street_cells import S, W, grid_streets


def test_cells_built_apart_are_those_built_here():
    geoms = grid_streets(6, 80.0)
    ticks = []
    apart = cell_process.build_apart(
        geoms, width_m=W, spacing_m=S, workers=1, progress=lambda done, total: ticks.append((done, total))
    )
    here = build_street_cells(geoms, width_m=W, spacing_m=S)
    assert apart is not None
    a, b = apart.to_arrays(), here.to_arrays()
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    # The child's progress came back, ending at its total.
    assert ticks and ticks[-1][0] == ticks[-1][1]
    # An area too.
    edges = np.arange(10)
    apart = cell_process.build_apart(geoms, width_m=W, spacing_m=S, edges=edges)
    here = build_street_cells(geoms, width_m=W, spacing_m=S, edges=edges)
    assert apart is not None and apart.area_edges.tolist() == edges.tolist()
    for name, values in here.to_arrays().items():
        assert np.array_equal(apart.to_arrays()[name], values), name


def test_no_child_for_a_main_script_without_guard(monkeypatch):
    # A spawned child imports the main script: without its __main__ test it would run again.
    monkeypatch.setattr(cell_process, "_main_module_guarded", lambda: False)
    assert cell_process.build_apart(grid_streets(2, 80.0), width_m=W, spacing_m=S) is None


def test_a_failing_child_leaves_the_build_to_the_caller(caplog):
    # The child cannot build (spacing too wide): nothing comes back, the caller builds and sees the error.
    with caplog.at_level(logging.WARNING, logger="geo.network.cell_process"):
        assert cell_process.build_apart(grid_streets(2, 80.0), width_m=W, spacing_m=2 * W) is None
    assert "child process failed" in caplog.text
    with pytest.raises(ValueError, match="spacing"):
        build_street_cells(grid_streets(2, 80.0), width_m=W, spacing_m=2 * W)


def test_bad_geometry_is_refused_before_any_child():
    with pytest.raises(ValueError, match="LineString"):
        cell_process.build_apart(np.array([shapely.Point(0, 0)], dtype=object), width_m=W, spacing_m=S)
