"""Micro-grids (微网格/网点) kept beside the grids they nest in: made, re-parented, checked, re-derived.

The micro-grids of a project are a :class:`GridPlan` of their own whose units are building
plots (:func:`geo.grids.levels.demand_plots`: each street block cut into the Voronoi cells of
its buildings, column ``block`` naming the block).  A micro-grid's parent is the grid its
plots' block is in *now*: :func:`with_parents` takes it from the grids, so an edit of the grids
never writes into the micro-grids; a micro-grid left across two grids, or coded under a grid
its plots are no longer in, is flagged (:func:`micro_issues`, kinds ``crosses_parent`` and
``not_nested``) until the planner re-derives the micro-grids of those grids
(:func:`rederive_micro`, undoable like any edit).  Micro-grids are edited with
:func:`geo.grids.edits.edit` (move a plot, split, merge, move a boundary): a plot moves only
within its grid, a split codes the new part grid code + the next free number.
"""

from __future__ import annotations

import dataclasses
import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import settings
from geo.grids.levels import demand_plots, micro_grids
from geo.grids.partition import empty_fields, generate_grids, number_width
from geo.grids.plan import GridEditError, GridPlan, Issue, check_plan

logger = logging.getLogger(__name__)

__all__ = [
    "check_micro_bounds",
    "fits_grids",
    "generate_micro",
    "micro_issues",
    "nested_parents",
    "rederive_micro",
    "set_micro_bounds",
    "with_parents",
]


def generate_micro(
    plan: GridPlan,
    demand: gpd.GeoDataFrame,
    *,
    min_households: float = settings.GRID_MICRO_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_MICRO_MAX_HOUSEHOLDS,
    seed: int = 0,
) -> GridPlan:
    """The micro-grids of every grid of ``plan``, from the plots of the buildings (``demand``).

    As ``python -m scripts.grids --levels`` makes them: :func:`demand_plots` then
    :func:`micro_grids`.  The plots keep their block (column ``block``).

    Parameters
    ----------
    plan
        The grids (projected CRS, metres), every block in a grid.
    demand
        Demand points (buildings) with ``residents`` and optionally ``households``, any CRS.
    min_households, max_households
        Household floor and ceiling of a micro-grid (default 10-50, ``geo.settings``).
    seed
        Seed of the tie-breaking jitter.

    Raises
    ------
    geo.errors.InputDataError
        Demand without residents, bad bounds, blocks in no grid.
    """
    plots = demand_plots(plan, demand)
    return micro_grids(plan, plots, min_households=min_households, max_households=max_households, seed=seed)


def nested_parents(micro: GridPlan, grids: GridPlan) -> np.ndarray:
    """The grid code each plot of ``micro`` is in now (its block's grid; ``""`` for a block in no grid).

    Raises
    ------
    GridEditError
        A plot names a block the grids do not have (the micro-grids belong to other grids).
    """
    blocks = micro.units["block"].astype(str).to_numpy() if "block" in micro.units else micro.units["unit_id"]
    where = pd.Index(grids.units["unit_id"].astype(str)).get_indexer(np.asarray(blocks, dtype=str))
    if (where < 0).any():
        raise GridEditError(
            "微网格的地块不属于当前网格的街区，请重新生成微网格 "
            "(the micro-grids' plots are not in the grids' blocks: generate the micro-grids again)"
        )
    return grids.grid[where].astype(object)


def with_parents(micro: GridPlan, grids: GridPlan) -> GridPlan:
    """``micro`` with each plot's ``parent`` set to the grid its block is in now (the same plan
    when nothing changed), so that edits and checks see the grids as they are."""
    parent = nested_parents(micro, grids)
    if (micro.units["parent"].to_numpy(object) == parent).all():
        return micro
    units = micro.units.copy()
    units["parent"] = parent
    return dataclasses.replace(micro, units=units)


def micro_issues(micro: GridPlan, *, extra: tuple[Issue, ...] | list[Issue] = ()) -> list[Issue]:
    """Every check of the micro-grids (:func:`check_plan`, worded for micro-grids) and nesting.

    ``not_nested``: a micro-grid inside one grid but coded under another (its grid was split,
    merged or renumbered).  ``crosses_parent``: a micro-grid across two grids (a block moved).
    ``extra`` (an edit's code stability issues) is worded the same way and appended.
    """
    out = [_micro_words(i) for i in (*micro.notes, *check_plan(micro), *extra)]
    grid = micro.grid
    parent = micro.units["parent"].to_numpy(object)
    used = grid != ""
    if used.any():
        codes, first = np.unique(grid[used].astype(str), return_index=True)
        owner = parent[used][first].astype(str)
        crossing = {i.grid for i in out if i.kind == "crosses_parent"}
        bad = [
            (c, p) for c, p in zip(codes, owner, strict=True) if c not in crossing and (p == "" or not c.startswith(p))
        ]
        out += [
            Issue(
                "not_nested",
                "error",
                f"微网格 {c} 现属网格 {p or '（无）'}，编码不以该网格编码开头：请重新划分网格 {p} 的微网格 "
                f"(micro-grid {c} now lies in grid {p} but is not coded under it: re-derive that grid's micro-grids)",
                grid=c,
                parent=p,
            )
            for c, p in bad[:200]
        ]
    return out


def _micro_words(issue: Issue) -> Issue:
    message = (
        issue.message.replace("网格", "微网格")
        .replace("上级区划", "所属网格")
        .replace("(grid ", "(micro-grid ")
        .replace("parents", "grids")
        .replace("untouched grids", "untouched micro-grids")
    )
    return dataclasses.replace(issue, message=message)


def flagged_parents(issues: list[Issue], micro: GridPlan) -> list[str]:
    """The grids whose micro-grids an edit of the grids left across grids or wrongly coded."""
    codes = {i.grid for i in issues if i.kind in ("crosses_parent", "not_nested") and i.grid}
    if not codes:
        return []
    parent = micro.units["parent"].to_numpy(object)
    return sorted({str(p) for p in parent[np.isin(micro.grid, list(codes))]} - {""})


def rederive_micro(micro: GridPlan, grids: list[str], *, seed: int | None = None) -> GridPlan:
    """The micro-grids of the named grids made again from their plots, as one undoable edit.

    ``micro`` must already carry its current parents (:func:`with_parents`).  The other
    micro-grids keep their codes and fields; a new micro-grid with exactly the plots of an
    old one keeps that one's code and fields; the rest are numbered after the numbers in use
    under their grid.

    Raises
    ------
    GridEditError
        ``grids`` is not a non-empty list of grid codes that hold plots.
    """
    parent = micro.units["parent"].to_numpy(object).astype(str)
    if not isinstance(grids, list) or not grids or not all(isinstance(g, str) for g in grids):
        raise GridEditError("grids 应为网格编码列表 (grids: a list of grid codes)")
    unknown = sorted(set(grids) - set(parent.tolist()))
    if unknown:
        raise GridEditError(f"网格 {unknown[0]} 没有微网格地块 (grid {unknown[0]!r} holds no plots)")
    seed = micro.seed if seed is None else seed
    grid = micro.grid.copy()
    fields = {c: dict(f) for c, f in micro.fields.items()}
    redo = np.isin(parent, grids)
    grid[redo] = ""
    adj = micro.adjacency
    for code in sorted(set(grids)):
        members = np.flatnonzero(parent == code)
        local = np.full(len(parent), -1, dtype=np.int64)
        local[members] = np.arange(members.size)
        keep = (local[adj[:, 0]] >= 0) & (local[adj[:, 1]] >= 0) if adj.size else np.zeros(0, dtype=bool)
        units = micro.units.iloc[members].drop(columns=["parent"]).reset_index(drop=True)
        made = generate_grids(
            units,
            None,
            min_households=micro.min_households,
            max_households=micro.max_households,
            seed=seed,
            adjacency=local[adj[keep]] if adj.size else np.zeros((0, 2), dtype=np.int64),
            parent_code=code,
        )
        new = made.grid
        taken = {str(c) for c in set(grid.tolist()) if c}
        for label in sorted(set(new.tolist()) - {""}):
            part = members[new == label]
            old = set(micro.grid[part].tolist())
            was = str(next(iter(old)))
            same = len(old) == 1 and was.startswith(code) and (micro.grid == was).sum() == part.size
            if same and was not in taken:
                grid[part] = was
            else:
                grid[part] = "?" + label  # numbered below, after the kept ones
        taken = {str(c) for c in set(grid.tolist()) if c and not str(c).startswith("?")}
        number = max((int(c[len(code) :]) for c in taken if c.startswith(code) and c[len(code) :].isdigit()), default=0)
        for label in sorted({str(c) for c in set(grid[members].tolist()) if str(c).startswith("?")}):
            number += 1
            new_code = f"{code}{number:0{number_width(number)}d}"
            grid[grid == label] = new_code
            fields[new_code] = empty_fields()
    alive = set(grid.tolist())
    fields = {c: f for c, f in fields.items() if c in alive}
    op = {"op": "rederive", "grids": sorted(set(grids))}
    history = (*micro.history, (op, micro.grid, micro.fields))[-settings.GRID_UNDO_DEPTH :]
    logger.info("micro-grids re-derived in %d grids: %d plots", len(set(grids)), int(redo.sum()))
    return dataclasses.replace(micro, grid=grid, fields=fields, history=history, future=(), version=micro.version + 1)


# --- h-micro3 (issue 20): the micro level's household floor and ceiling, and a fresh start ---


def check_micro_bounds(min_households: object, max_households: object) -> tuple[int, int]:
    """A micro-grid household floor and ceiling as a planner gave them, checked.

    Whole numbers with ``0 <= floor < ceiling <= settings.GRID_MICRO_BOUND_MAX_HOUSEHOLDS``
    (a micro-grid as large as an urban grid is no micro-grid).

    Raises
    ------
    GridEditError
        Not numbers (text, true/false, NaN), not whole, negative, floor not below the
        ceiling, or a ceiling above the cap.
    """
    top = settings.GRID_MICRO_BOUND_MAX_HOUSEHOLDS
    out = []
    given: tuple[tuple[object, str], ...] = (
        (min_households, "下限 min_households"),
        (max_households, "上限 max_households"),
    )
    for raw, what in given:
        value = raw
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise GridEditError(f"微网格户数{what} 应为数字，收到 {value!r} (the bound must be a number)")
        value = float(value)
        if value != int(value):
            raise GridEditError(f"微网格户数{what} 应为整数户，收到 {raw!r} (whole households)")
        if value < 0:
            raise GridEditError(f"微网格户数{what} 不能为负数，收到 {raw!r} (the bound cannot be negative)")
        if value > top:
            raise GridEditError(
                f"微网格户数{what} 为 {value:g} 户，超过上限 {top} 户（一个网格的规模），请填写 10-50 户左右 "
                f"(a micro-grid bound above {top} households is a grid, not a micro-grid)"
            )
        out.append(int(value))
    lo, hi = out
    if lo >= hi:
        raise GridEditError(f"微网格户数下限 {lo} 应小于上限 {hi} (the floor must be below the ceiling), 例如 10-50 户")
    return lo, hi


def set_micro_bounds(micro: GridPlan, *, min_households: object, max_households: object) -> GridPlan:
    """``micro`` checked against another household floor and ceiling, as one undoable edit.

    The codes and fields stay; the checks (:func:`micro_issues`), the re-derivation and a
    later generation use the new bounds.  The edit's ``op`` is
    ``{"op": "bounds", "bounds": [[old floor, old ceiling], [floor, ceiling]]}`` so that
    :func:`geo.grids.edits.undo` and ``redo`` bring the bounds back.

    Raises
    ------
    GridEditError
        Bad bounds (:func:`check_micro_bounds`) or the same bounds as now.
    """
    lo, hi = check_micro_bounds(min_households, max_households)
    old = [float(micro.min_households), float(micro.max_households)]
    if old == [lo, hi]:
        raise GridEditError(f"微网格户数上下限已是 {lo}-{hi} 户 (the bounds are already {lo}-{hi})")
    op = {"op": "bounds", "bounds": [old, [float(lo), float(hi)]]}
    history = (*micro.history, (op, micro.grid, micro.fields))[-settings.GRID_UNDO_DEPTH :]
    logger.info("micro-grid bounds %g-%g -> %d-%d households", old[0], old[1], lo, hi)
    return dataclasses.replace(
        micro,
        min_households=float(lo),
        max_households=float(hi),
        history=history,
        future=(),
        version=micro.version + 1,
    )


def fits_grids(micro: GridPlan, grids: GridPlan) -> bool:
    """Whether every plot of ``micro`` lies in a street block the grids still have (False after
    the project's blocks were made again: the micro-grids must then be generated afresh)."""
    blocks = micro.units["block"].astype(str).to_numpy() if "block" in micro.units else micro.units["unit_id"]
    where = pd.Index(grids.units["unit_id"].astype(str)).get_indexer(np.asarray(blocks, dtype=str))
    return bool((where >= 0).all())
