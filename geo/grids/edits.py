"""Editing a grid plan: move, split, merge, set a field, renumber; with undo.

:func:`apply_edit` takes a plan and a JSON edit operation and returns a new plan; :func:`undo`
steps back.  Edits never renumber other grids: a split gives the new part the next free
number, a merge keeps the first code.  Operations (ids are the plan's unit ids and grid codes)::

    {"op": "move",  "unit": "B00012", "to": "00000000000002"}
    {"op": "split", "grid": "00000000000001"}                   # two balanced halves
    {"op": "split", "grid": "00000000000001", "units": ["B00003", "B00004"]}
    {"op": "merge", "grids": ["00000000000001", "00000000000002"]}
    {"op": "set",   "grid": "00000000000001", "field": "grid_member", "value": "张三"}
    {"op": "renumber"}                                           # all codes in reading order
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.grids.partition import Graph, empty_fields, number_width, partition, reading_rank
from geo.grids.plan import (
    EDIT_FIELDS,
    FIELDS_ZH,
    MAX_FIELD_CHARS,
    MAX_LIST_ITEMS,
    MAX_UNITS_PER_OP,
    OP_KEYS,
    OPS,
    GridEditError,
    GridPlan,
    Issue,
    grid_sums,
    list_field,
)

logger = logging.getLogger(__name__)

__all__ = ["EditResult", "apply_edit", "edit", "undo"]

# --------------------------------------------------------------------------- editing


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise GridEditError(f"{what} 应为文字，收到 {type(value).__name__} ({what} must be a string)")
    if len(value) > MAX_FIELD_CHARS:
        raise GridEditError(f"{what} 超过 {MAX_FIELD_CHARS} 字 ({what} is too long)")
    return value


def _text_list(value: object, what: str, *, limit: int = MAX_LIST_ITEMS) -> list[str]:
    if not isinstance(value, list) or len(value) > limit:
        raise GridEditError(f"{what} 应为文字列表，最多 {limit} 项 ({what} must be a list of at most {limit} strings)")
    return [_text(v, what) for v in value]


def _validate_op(op: object) -> dict:
    if not isinstance(op, Mapping):
        raise GridEditError(f"编辑操作应为 JSON 对象，收到 {type(op).__name__} (an edit is a JSON object)")
    kind = op.get("op")
    if kind not in OPS:
        raise GridEditError(f"未知的编辑操作 {kind!r}；可选: {', '.join(OPS)} (unknown edit op)")
    extra = set(op) - OP_KEYS[kind] - {"version"}
    if extra:
        raise GridEditError(
            f"编辑操作 {kind} 不认识的字段: {', '.join(sorted(map(str, extra)))} (unknown keys for {kind})"
        )
    return dict(op)


def _unit_indices(plan: GridPlan, units: list[str]) -> np.ndarray:
    found = pd.Index(plan.units["unit_id"].astype(str)).get_indexer(units)
    if (found < 0).any():
        unit = units[int(np.flatnonzero(found < 0)[0])]
        raise GridEditError(f"没有编号为 {unit} 的单元 (unknown unit id {unit!r})")
    return found.astype(np.int64)


def _unit_index(plan: GridPlan, unit: object) -> int:
    return int(_unit_indices(plan, [_text(unit, "unit")])[0])


def _grid_code(plan: GridPlan, code: object) -> str:
    code = _text(code, "grid")
    if code not in plan.fields or not (plan.grid == code).any():
        raise GridEditError(f"没有编码为 {code} 的网格 (unknown grid code {code!r})")
    return code


def _neighbour_grids(plan: GridPlan, members: np.ndarray) -> set[str]:
    adj = plan.adjacency
    inside = np.zeros(len(plan.grid), dtype=bool)
    inside[members] = True
    touch = np.concatenate([adj[inside[adj[:, 0]], 1], adj[inside[adj[:, 1]], 0]])
    return set(plan.grid[touch].tolist()) - set(plan.grid[members].tolist()) - {""}


def _next_code(plan: GridPlan, parent: str, grid: np.ndarray, fields: Mapping) -> str:
    used = [int(c[len(parent) :]) for c in set(grid.tolist()) | set(fields) if c.startswith(parent) and c != parent]
    number = max(used, default=0) + 1
    return f"{parent}{number:0{number_width(number)}d}"


def apply_edit(plan: GridPlan, op: Mapping) -> GridPlan:
    """Apply one edit operation (see the module docstring) and return the new plan.

    Rules (bounds, contiguity) may be broken by an edit: :func:`check_plan` lists the
    violations.  An edit that cannot be carried out at all is refused.

    Raises
    ------
    GridEditError
        Malformed operation, unknown unit or grid id (the web app maps this to 404 /
        422), a stale ``version`` (409/412), a move to a grid that is not a neighbour or in another parent, a split
        naming units outside the grid or all of it, a merge of grids that do not touch.
    """
    op = _validate_op(op)
    if "version" in op:
        version = op.pop("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise GridEditError(f"version 应为整数，收到 {version!r} (version must be an integer)")
        if version != plan.version:
            raise GridEditError(
                f"方案已被修改（当前第 {plan.version} 版，编辑基于第 {version} 版），请刷新后重做 "
                f"(stale edit: the plan is at version {plan.version}, the edit was made on {version})"
            )
    kind = op["op"]
    grid = plan.grid.copy()
    fields = {c: {**f, "central_households": list_field(f.get("central_households"))} for c, f in plan.fields.items()}
    parent_of = plan.units["parent"].to_numpy(object)
    if kind == "move":
        u = _unit_index(plan, op.get("unit"))
        to = _grid_code(plan, op.get("to"))
        src = str(grid[u])
        if src == to:
            raise GridEditError(f"单元已在网格 {to} 中 (the unit is already in grid {to})")
        if parent_of[u] != parent_of[np.flatnonzero(grid == to)[0]]:
            raise GridEditError(f"网格 {to} 属于另一个上级区划 (grid {to} is in another parent)")
        if to not in _neighbour_grids(plan, np.array([u])):
            raise GridEditError(f"单元 {op['unit']} 与网格 {to} 不相邻 (the unit does not touch grid {to})")
        grid[u] = to
        if not (grid == src).any():
            fields.pop(src, None)
    elif kind == "split":
        code = _grid_code(plan, op.get("grid"))
        members = np.flatnonzero(grid == code)
        parent = str(parent_of[members[0]])
        new = _next_code(plan, parent, grid, fields)
        if "units" in op:
            chosen = np.unique(_unit_indices(plan, _text_list(op["units"], "units", limit=MAX_UNITS_PER_OP)))
            if chosen.size == 0 or not np.isin(chosen, members).all() or chosen.size == members.size:
                raise GridEditError(
                    f"拆分的单元须是网格 {code} 的一部分且不能是全部 "
                    f"(split units must be some, not all, of grid {code})"
                )
            grid[chosen] = new
        else:
            if members.size < 2:
                raise GridEditError(f"网格 {code} 只有一个单元，不能拆分 (grid {code} has one unit)")
            geoms = plan.units.geometry.to_numpy()
            c = shapely.centroid(geoms)
            rng = np.random.default_rng(plan.seed)
            g = Graph(
                len(grid),
                plan.adjacency,
                shapely.get_x(c),
                shapely.get_y(c),
                plan.units["households"].to_numpy(float),
                rng.uniform(0.0, 1e-3, len(grid)),
            )
            parts = partition(g, members, 2)
            if len(parts) < 2:
                raise GridEditError(f"网格 {code} 无法分成两个相连部分 (grid {code} cannot be split in two)")
            labels = np.zeros(members.size, dtype=np.int64)
            labels[np.isin(members, parts[1])] = 1
            rank = reading_rank(labels, geoms[members], float(shapely.area(shapely.union_all(geoms[members]))))
            second = 1 if rank[1] > rank[0] else 0
            grid[members[labels == second]] = new
        fields[new] = empty_fields()
    elif kind == "merge":
        codes = op.get("grids")
        if not isinstance(codes, list) or len(codes) != 2:
            raise GridEditError("merge 需要两个网格编码 (merge needs a list of two grid codes)")
        a, b = (_grid_code(plan, c) for c in codes)
        if a == b:
            raise GridEditError("不能把网格与自身合并 (cannot merge a grid with itself)")
        keep, drop = sorted((a, b))
        if parent_of[np.flatnonzero(grid == a)[0]] != parent_of[np.flatnonzero(grid == b)[0]]:
            raise GridEditError(f"网格 {a} 与 {b} 属于不同上级区划 (grids in different parents)")
        if drop not in _neighbour_grids(plan, np.flatnonzero(grid == keep)):
            raise GridEditError(f"网格 {a} 与 {b} 不相邻 (grids {a} and {b} do not touch)")
        grid[grid == drop] = keep
        kept = list_field(fields[keep]["central_households"])
        kept += [h for h in list_field(fields[drop]["central_households"]) if h not in kept]
        fields[keep]["central_households"] = kept
        fields.pop(drop)
    elif kind == "set":
        code = _grid_code(plan, op.get("grid"))
        name = op.get("field")
        if name not in EDIT_FIELDS:
            raise GridEditError(f"未知字段 {name!r}；可选: {', '.join(EDIT_FIELDS)} (unknown field)")
        value = op.get("value")
        fields[code][name] = (
            _text_list(value, FIELDS_ZH[name]) if name == "central_households" else _text(value, FIELDS_ZH[name])
        )
    else:  # renumber
        geoms = plan.units.geometry.to_numpy()
        new_grid = grid.copy()
        new_fields = {}
        for code, pgeom in zip(plan.parents["code"], plan.parents.geometry, strict=True):
            nodes = np.flatnonzero((parent_of == code) & (grid != ""))
            if nodes.size == 0:
                continue
            _, labels = np.unique(grid[nodes], return_inverse=True)
            rank = reading_rank(labels, geoms[nodes], shapely.area(pgeom))
            width = number_width(len(rank))
            renamed: dict[str, str] = {}
            for lab, old in zip(labels, grid[nodes], strict=True):
                renamed.setdefault(old, f"{code}{rank[int(lab)] + 1:0{width}d}")
            new_grid[nodes] = [renamed[g] for g in grid[nodes]]
            new_fields.update({renamed[old]: fields[old] for old in renamed})
        grid, fields = new_grid, new_fields
    history = (*plan.history, (op, plan.grid, plan.fields))[-settings.GRID_UNDO_DEPTH :]
    return dataclasses.replace(plan, grid=grid, fields=fields, history=history, version=plan.version + 1)


@dataclass(frozen=True, eq=False)
class EditResult:
    """A plan after an edit with the violations found by the checks that ran after it."""

    plan: GridPlan
    issues: tuple[Issue, ...]

    def to_dict(self) -> dict:
        """JSON for the web app: the version, the grids' households and every issue."""
        hh = grid_sums(self.plan, "households")
        return {
            "version": self.plan.version,
            "grids": [{"code": c, "households": round(hh.get(c, 0.0), 1)} for c in self.plan.codes],
            "issues": [i.to_dict() for i in self.issues],
            "can_undo": len(self.plan.history),
        }


def edit(plan: GridPlan, op: Mapping) -> EditResult:
    """:func:`apply_edit` followed by the checks: the new plan and its notes and violations.

    Raises
    ------
    GridEditError
        As :func:`apply_edit`.
    """
    new = apply_edit(plan, op)
    return EditResult(new, tuple(new.issues()))


def undo(plan: GridPlan, steps: int = 1) -> GridPlan:
    """The plan as it was ``steps`` edits ago.

    Raises
    ------
    GridEditError
        If there are fewer than ``steps`` edits to undo or ``steps`` is not positive.
    """
    if not isinstance(steps, int) or steps < 1:
        raise GridEditError(f"撤销步数应为正整数，收到 {steps!r} (steps must be a positive integer)")
    if steps > len(plan.history):
        raise GridEditError(f"只能撤销 {len(plan.history)} 步 (only {len(plan.history)} edits can be undone)")
    _, grid, fields = plan.history[-steps]
    return dataclasses.replace(plan, grid=grid, fields=fields, history=plan.history[:-steps], version=plan.version + 1)
