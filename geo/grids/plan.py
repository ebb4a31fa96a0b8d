"""A grid plan as plain data (the units, their grids and codes, the edit history) and its checks.

A grid is a contiguous group of whole *units* (street blocks from
:func:`geo.grids.blocks.street_blocks`, or a planner's compounds) inside one parent
polygon (a community, 社区/村), with a number of households between a floor and a
ceiling (300-500 in towns, ``geo.settings.GRID_*``).  :func:`check_plan` lists every
violation: household bounds, contiguity, gaps and overlaps, codes, nesting in the parents.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from geo import settings
from geo.errors import InputDataError

logger = logging.getLogger(__name__)

__all__ = [
    "EDIT_FIELDS",
    "FIELDS_ZH",
    "MAX_FIELD_CHARS",
    "MAX_LINE_POINTS",
    "MAX_LIST_ITEMS",
    "MAX_UNITS_PER_OP",
    "OPS",
    "OP_KEYS",
    "GridEditError",
    "GridPlan",
    "Issue",
    "check_plan",
    "list_field",
]

#: Editable attributes of a grid: name, grid member (网格员), responsible branch
#: (责任支部), party-member central households (党员中心户, a list of names) and, for a
#: micro-grid, its building head (楼栋长, h-micro3).
EDIT_FIELDS = ("name", "grid_member", "branch", "central_households", "building_head")
FIELDS_ZH = {
    "name": "网格名称",
    "grid_member": "网格员",
    "branch": "责任支部",
    "central_households": "党员中心户",
    "building_head": "楼栋长",
}
MAX_FIELD_CHARS = 200
MAX_LIST_ITEMS = 500
#: Most unit ids in one split operation (docs/bad-inputs.md G8: a cap on what a browser may post).
MAX_UNITS_PER_OP = 20_000
OPS = ("move", "split", "merge", "set", "renumber", "boundary")
#: Most vertices of a line drawn to split a grid or to move a boundary (a cap on what a browser may post).
MAX_LINE_POINTS = 1_000
OP_KEYS = {
    "move": {"op", "unit", "to"},
    "split": {"op", "grid", "units", "line"},
    "boundary": {"op", "grids", "line"},
    "merge": {"op", "grids"},
    "set": {"op", "grid", "field", "value"},
    "renumber": {"op"},
}


class GridEditError(InputDataError):
    """An edit operation is malformed, names an unknown unit or grid, or cannot be applied."""


@dataclass(frozen=True)
class Issue:
    """One violation or note: ``kind``, ``severity`` (error / warning / info), where, and a message.

    Kinds: ``unassigned_unit``, ``crosses_parent``, ``outside_parent``, ``overlap``,
    ``gap``, ``not_contiguous``, ``below_floor``, ``above_ceiling``,
    ``oversized_unit``, ``infeasible_bounds``, ``too_many_grids``, ``left_out``;
    after an edit also ``renumbered`` (an untouched grid got another code) and
    ``codes_kept`` (info: how many untouched grids kept their codes).
    """

    kind: str
    severity: str
    message: str
    grid: str = ""
    parent: str = ""
    units: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return {**dataclasses.asdict(self), "units": list(self.units)}


@dataclass(frozen=True, eq=False)
class GridPlan:
    """Units, their grid codes and the grids' editable fields; treat as immutable.

    Attributes
    ----------
    units
        ``unit_id``, ``parent`` (code), ``households``, ``residents``, optional
        ``fac_<function>`` counts, polygons in a projected CRS; positional index.
    parents
        ``code``, ``name``, polygons (same CRS).
    adjacency
        ``(m, 2)`` positions of neighbouring units, ``i < j``.
    grid
        Grid code of every unit (object array, aligned with ``units``).
    fields
        Editable fields per grid code (:data:`EDIT_FIELDS`).
    min_households, max_households
        The household bounds the plan is checked against.
    notes
        Generation notes (infeasibility explained, units left out); kept through edits.
    history
        Earlier states for :func:`undo`: ``(op, grid, fields)``, newest last.
    future
        States undone, for :func:`redo`: ``(op, grid, fields)``, the next one last; an edit clears it.
    overlaps
        ``(m, 2)`` positions of overlapping units (planner units only).
    gaps_m2
        Area of each parent not covered by its units (m²).
    seed
        Seed of the tie-breaking jitter.
    version
        Counts the edits and undos; an edit may name the version it was made on
        (``"version"``) and is refused when the plan has moved on (docs/bad-inputs.md G10).
    coverage
        The units form a valid polygonal coverage (:func:`geo.grids.blocks.is_coverage`,
        true of street blocks), so a grid's polygon is their coverage union; not kept in
        the JSON form (a plan read back unions the general, slower way).
    """

    units: gpd.GeoDataFrame
    parents: gpd.GeoDataFrame
    adjacency: np.ndarray
    grid: np.ndarray
    fields: Mapping[str, Mapping[str, object]]
    min_households: float
    max_households: float
    notes: tuple[Issue, ...] = ()
    history: tuple[tuple[dict, np.ndarray, Mapping], ...] = ()
    future: tuple[tuple[dict, np.ndarray, Mapping], ...] = ()
    overlaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    gaps_m2: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    version: int = 0
    coverage: bool = False

    @property
    def codes(self) -> list[str]:
        """Grid codes, sorted."""
        return sorted(set(self.grid.tolist()) - {""})

    def issues(self) -> list[Issue]:
        """Generation notes followed by the current check results."""
        return [*self.notes, *check_plan(self)]


# ---------------------------------------------------------------------------- output


def list_field(value: object) -> list[object]:
    """A list field of a grid (e.g. its central households) as a list; anything else as empty."""
    return list(value) if isinstance(value, list | tuple) else []


# --------------------------------------------------------------------------- checks


def grid_sums(plan: GridPlan, column: str) -> dict[str, float]:
    """The sum of a unit column per grid code."""
    values = plan.units[column].to_numpy(float)
    codes, inv = np.unique(plan.grid, return_inverse=True)
    sums = np.bincount(inv, weights=values)
    return {str(c): float(s) for c, s in zip(codes, sums, strict=True) if c != ""}


def _per_grid_distinct(grid_k: np.ndarray, value_k: np.ndarray, n: int) -> np.ndarray:
    """The grid positions (of ``n``) holding more than one distinct value (both as integer positions)."""
    if grid_k.size == 0:
        return np.zeros(0, dtype=np.int64)
    key = np.unique(grid_k.astype(np.int64) * (int(value_k.max()) + 1) + value_k)
    return np.flatnonzero(np.bincount(key // (int(value_k.max()) + 1), minlength=n) > 1)


def check_plan(plan: GridPlan) -> list[Issue]:
    """Every rule a plan must meet, as a list of violations (empty when all hold).

    Every unit in exactly one grid; each grid inside one parent; no overlaps between
    grids; gaps in a parent not covered by units; every grid connected; households
    between the plan's floor and ceiling (a single oversized unit is flagged as such).
    """
    issues: list[Issue] = []
    ids = plan.units["unit_id"].to_numpy(object)
    grid = plan.grid
    free = grid == ""
    if free.any():
        issues.append(
            Issue(
                "unassigned_unit",
                "error",
                f"{int(free.sum())} 个单元未划入网格 ({int(free.sum())} units belong to no grid)",
                units=tuple(ids[free][:50].tolist()),
            )
        )
    parent_of = plan.units["parent"].to_numpy(object)
    codes, grid_k = np.unique(grid.astype(str), return_inverse=True)
    parents, parent_k = np.unique(parent_of.astype(str), return_inverse=True)
    used = ~free
    for k in _per_grid_distinct(grid_k[used], parent_k[used], codes.size):
        code = str(codes[k])
        issues.append(
            Issue(
                "crosses_parent",
                "error",
                f"网格 {code} 跨越多个上级区划 (grid {code} spans several parents)",
                grid=code,
            )
        )
    ov = plan.overlaps
    if ov.size:
        diff = (grid[ov[:, 0]] != grid[ov[:, 1]]) & ~free[ov[:, 0]] & ~free[ov[:, 1]]
        for a, b in ov[diff][:50]:
            issues.append(
                Issue(
                    "overlap",
                    "error",
                    f"网格 {grid[a]} 与 {grid[b]} 重叠 (grids {grid[a]} and {grid[b]} overlap)",
                    grid=str(grid[a]),
                    units=(str(ids[a]), str(ids[b])),
                )
            )
    for code, area in plan.gaps_m2.items():
        if area > settings.GRID_AREA_TOLERANCE_M2:
            issues.append(
                Issue(
                    "gap",
                    "warning",
                    f"上级区划 {code} 有 {area:,.0f} m² 不属于任何单元 "
                    f"(parent {code} has {area:,.0f} m² outside every unit)",
                    parent=code,
                )
            )
    # contiguity: components of the graph keeping only edges inside one grid
    adj = plan.adjacency
    n = len(ids)
    same = grid[adj[:, 0]] == grid[adj[:, 1]] if adj.size else np.zeros(0, dtype=bool)
    m = sparse.csr_array(
        (np.ones(int(same.sum()), dtype=np.int8), (adj[same, 0], adj[same, 1])) if adj.size else ([], ([], [])),
        shape=(n, n),
    )
    _, comp = csgraph.connected_components(m, directed=False)
    for k in _per_grid_distinct(grid_k[used], comp[used], codes.size):
        code = str(codes[k])
        members = np.flatnonzero(grid_k == k)
        labels, sizes = np.unique(comp[members], return_counts=True)
        stray = members[comp[members] != labels[np.argmax(sizes)]]
        issues.append(
            Issue(
                "not_contiguous",
                "error",
                f"网格 {code} 不连片，分成 {labels.size} 块 (grid {code} is in {labels.size} pieces)",
                grid=code,
                units=tuple(ids[stray][:50].tolist()),
            )
        )
    sums = np.bincount(grid_k, weights=plan.units["households"].to_numpy(float), minlength=codes.size)
    hh = {str(c): float(v) for c, v in zip(codes, sums, strict=True) if c != ""}
    count = dict(zip(codes.tolist(), np.bincount(grid_k, minlength=codes.size).tolist(), strict=True))
    big_unit = plan.units["households"].to_numpy(float) > plan.max_households
    for code in sorted(hh):
        value = hh[code]
        if value > plan.max_households + 1e-6:
            members = np.flatnonzero(grid == code)
            if count[code] == 1 and big_unit[members[0]]:
                issues.append(
                    Issue(
                        "oversized_unit",
                        "warning",
                        f"网格 {code} 只有一个单元 {ids[members[0]]}，已有 {value:.0f} 户，超过上限 "
                        f"{plan.max_households:g} (a single unit above the ceiling is its own grid)",
                        grid=code,
                        units=(str(ids[members[0]]),),
                    )
                )
            else:
                issues.append(
                    Issue(
                        "above_ceiling",
                        "warning",
                        f"网格 {code} 有 {value:.0f} 户，超过上限 {plan.max_households:g} "
                        f"(grid {code} has more households than the ceiling)",
                        grid=code,
                    )
                )
        elif value < plan.min_households - 1e-6:
            issues.append(
                Issue(
                    "below_floor",
                    "warning",
                    f"网格 {code} 只有 {value:.0f} 户，少于下限 {plan.min_households:g} "
                    f"(grid {code} has fewer households than the floor)",
                    grid=code,
                )
            )
    pairs = np.unique(parent_k[used].astype(np.int64) * codes.size + grid_k[used])
    per_parent = pd.Series(np.bincount(pairs // codes.size, minlength=parents.size), index=parents)
    limit = 10**settings.GRID_NUMBER_DIGITS - 1
    for code in per_parent.index[per_parent > limit]:
        issues.append(
            Issue(
                "too_many_grids",
                "warning",
                f"上级区划 {code} 有 {int(per_parent[code])} 个网格，超过两位编号 ({limit}) "
                f"(more grids than a 2-digit number allows)",
                parent=str(code),
            )
        )
    return issues
