"""The micro level's household floor and ceiling as an undoable edit, and micro-grids that no
longer fit the street blocks (geo/grids/micro.py, h-micro3, issue 20), on the toy street of
tests/test_grids_micro.py: four blocks of two plots of 10 households, one micro-grid per block
(20 households each)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geo import settings
from geo.grids.edits import edit, redo, undo
from geo.grids.micro import check_micro_bounds, fits_grids, micro_issues, rederive_micro, set_micro_bounds
from geo.grids.plan import GridEditError
from tests.test_grids_micro import levels  # noqa: F401  (the toy street's fixture)


def test_bounds_are_checked_whole_numbers_floor_below_ceiling_and_below_the_cap():
    assert check_micro_bounds(10, 50) == (10, 50)
    assert check_micro_bounds(0, 12.0) == (0, 12)  # a whole float is a whole number
    cap = settings.GRID_MICRO_BOUND_MAX_HOUSEHOLDS
    assert check_micro_bounds(cap - 1, cap) == (cap - 1, cap)
    bad = [
        ("10", 50, "应为数字"),
        (10, None, "应为数字"),
        (True, 50, "应为数字"),
        (float("nan"), 50, "应为数字"),
        (10.5, 50, "整数"),
        (-1, 50, "负数"),
        (50, 50, "应小于上限"),
        (60, 20, "应小于上限"),
        (10, cap + 1, "超过上限"),
        (10, 1e12, "超过上限"),
    ]
    for lo, hi, words in bad:
        with pytest.raises(GridEditError, match=words):
            check_micro_bounds(lo, hi)


def test_new_bounds_change_the_checks_and_undo_redo_bring_them_back(levels):  # noqa: F811
    _, micro = levels
    assert micro_issues(micro) == []  # 20 households each, within 10-50
    raised = set_micro_bounds(micro, min_households=25, max_households=60)
    assert (raised.min_households, raised.max_households) == (25, 60) and raised.version == micro.version + 1
    assert (raised.grid == micro.grid).all() and raised.fields == micro.fields  # codes and fields untouched
    # every micro-grid of 20 households is now below the floor of 25, by name
    below = sorted(i.grid for i in micro_issues(raised) if i.kind == "below_floor")
    assert below == ["G0101", "G0102", "G0201", "G0202"]
    assert raised.history[-1][0] == {"op": "bounds", "bounds": [[10.0, 50.0], [25.0, 60.0]]}
    back = undo(raised)
    assert (back.min_households, back.max_households) == (10, 50) and micro_issues(back) == []
    again = redo(back)
    assert (again.min_households, again.max_households) == (25, 60)
    # an edit after the bounds, then two undos: the edit's undo keeps the bounds, the second restores them
    named = edit(raised, {"op": "set", "grid": "G0101", "field": "building_head", "value": "张三"}).plan
    assert named.fields["G0101"]["building_head"] == "张三" and named.min_households == 25
    one = undo(named)
    assert one.min_households == 25 and "building_head" not in one.fields["G0101"]
    assert undo(named, 2).min_households == 10
    with pytest.raises(GridEditError, match="已是"):
        set_micro_bounds(micro, min_households=10, max_households=50)
    with pytest.raises(GridEditError, match="应小于上限"):
        set_micro_bounds(micro, min_households=30, max_households=30)


def test_rederive_uses_the_new_bounds(levels):  # noqa: F811
    _, micro = levels
    # a ceiling of 15: each grid's four plots of 10 households must fall into micro-grids of one plot
    small = set_micro_bounds(micro, min_households=5, max_households=15)
    again = rederive_micro(small, ["G01", "G02"])
    assert len(again.codes) == 8 and not [i for i in micro_issues(again) if i.kind == "above_ceiling"]
    assert sorted(again.codes)[:4] == ["G0101", "G0102", "G0103", "G0104"]
    # with the default 10-50 each grid's 40 households make one micro-grid: the bounds decide
    assert len(rederive_micro(micro, ["G01", "G02"]).codes) == 2


def test_micro_grids_over_blocks_made_again_no_longer_fit(levels):  # noqa: F811
    grids, micro = levels
    assert fits_grids(micro, grids)
    units = grids.units.copy()
    units["unit_id"] = ["N1", "N2", "N3", "N4"]  # the blocks made again under other ids
    remade = dataclasses.replace(grids, units=units)
    assert not fits_grids(micro, remade)
    half = units.copy()
    half["unit_id"] = ["B1", "B2", "N3", "N4"]
    assert not fits_grids(micro, dataclasses.replace(grids, units=half))
    assert np.array_equal(micro.grid, levels[1].grid)  # nothing written into the micro-grids
