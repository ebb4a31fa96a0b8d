"""Editing a grid plan: move, split, merge, set a field, renumber; with undo.

:func:`apply_edit` takes a plan and a JSON edit operation and returns a new plan; :func:`undo`
steps back and :func:`redo` forward again; :func:`restore` brings back an earlier version's
grids as one more edit.  Edits never renumber other grids: a split gives the new part the next free
number, a merge keeps the first code.  Lines are in the plan's projected CRS (metres); a
unit cut by a line goes to the side holding most of its area.  ``boundary`` moves the
shared boundary of two neighbouring grids to the drawn line (with one grid named, the
neighbour the line runs through most).  Operations (ids are the plan's unit ids and grid codes)::

    {"op": "move",  "unit": "B00012", "to": "00000000000002"}
    {"op": "split", "grid": "00000000000001"}                   # two balanced halves
    {"op": "split", "grid": "00000000000001", "units": ["B00003", "B00004"]}
    {"op": "split", "grid": "00000000000001", "line": [[x, y], [x, y]]}  # cut by a drawn line
    {"op": "boundary", "grids": ["00000000000001", "00000000000002"], "line": [[x, y], ...]}
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
    MAX_LINE_POINTS,
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

__all__ = ["EditResult", "apply_edit", "edit", "redo", "restore", "stability_issues", "touched", "undo"]

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


def _line(value: object) -> shapely.LineString:
    """A drawn line: ``[[x, y], ...]``, 2 to :data:`MAX_LINE_POINTS` finite points in the plan's CRS."""
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_LINE_POINTS:
        raise GridEditError(
            f"line 应为 2 至 {MAX_LINE_POINTS} 个坐标点 (a line is a list of 2 to {MAX_LINE_POINTS} [x, y] points)"
        )
    try:
        xy = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        xy = np.zeros((0, 0))
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.isfinite(xy).all():
        raise GridEditError("line 的每个点应为两个有限数 [x, y] (every point of a line is [x, y], finite)")
    line = shapely.linestrings(xy)
    if line.length <= 0:
        raise GridEditError("所画的线长度为零 (the line has no length)")
    return line


def _union(plan: GridPlan, members: np.ndarray):
    geoms = plan.units.geometry.to_numpy()[members]
    return shapely.coverage_union_all(geoms) if plan.coverage else shapely.union_all(geoms)


def _pieces(plan: GridPlan, members: np.ndarray, line: shapely.LineString) -> list[np.ndarray]:
    """``members`` grouped by the piece of their union that ``line`` cuts them into (most area wins)."""
    from shapely.ops import split as split_by

    pieces = [p for p in shapely.get_parts(split_by(_union(plan, members), line)) if p.area > 0]
    if len(pieces) < 2:
        return [members]
    geoms = plan.units.geometry.to_numpy()[members]
    tree = shapely.STRtree(pieces)
    where = np.zeros(members.size, dtype=np.int64)
    # a unit the line does not touch lies in one piece: found by a point inside it
    cut = shapely.intersects(geoms, line)
    whole = np.flatnonzero(~cut)
    point, piece = tree.query(shapely.point_on_surface(geoms[whole]), predicate="within")
    where[whole[point]] = piece
    # a unit the line cuts goes to the piece holding most of its area
    crossed = np.flatnonzero(cut)
    unit, piece = tree.query(geoms[crossed], predicate="intersects")
    share = shapely.area(shapely.intersection(geoms[crossed][unit], np.asarray(pieces, dtype=object)[piece]))
    order = np.lexsort((share, unit))  # by unit, then by area: each unit's last pair is its largest share
    last = np.r_[unit[order][1:] != unit[order][:-1], True]
    where[crossed[unit[order][last]]] = piece[order][last]
    return [members[where == k] for k in np.unique(where)]


def _not_cut(what: str) -> GridEditError:
    return GridEditError(
        f"所画的线没有把{what}分开：请从边界外画过{what}到另一侧边界外 "
        f"(the line does not cut the {'grid' if what == '网格' else 'grids'}: draw it across, from outside to outside)"
    )


def _boundary(plan: GridPlan, grid: np.ndarray, op: Mapping, parent_of: np.ndarray) -> None:
    """Move the shared boundary of two neighbouring grids to the drawn line (``grid`` changed in place)."""
    codes = op.get("grids")
    line = _line(op.get("line"))
    if not isinstance(codes, list) or len(codes) not in (1, 2):
        raise GridEditError("boundary 需要一个或两个网格编码 (boundary needs a list of one or two grid codes)")
    a = _grid_code(plan, codes[0])
    a_members = np.flatnonzero(grid == a)
    near = sorted(
        g
        for g in _neighbour_grids(plan, a_members)
        if parent_of[np.flatnonzero(grid == g)[0]] == parent_of[a_members[0]]
    )
    if len(codes) == 2:
        b = _grid_code(plan, codes[1])
        if b == a:
            raise GridEditError("边界须在两个不同网格之间 (a boundary is between two different grids)")
        if b not in near:
            raise GridEditError(f"网格 {a} 与 {b} 不相邻或属于不同上级区划 (grids {a} and {b} are not neighbours)")
    else:
        crossed = {g: shapely.length(shapely.intersection(line, _union(plan, np.flatnonzero(grid == g)))) for g in near}
        crossed = {g: v for g, v in crossed.items() if v > 0}
        if not crossed:
            raise GridEditError(f"所画的线没有穿过网格 {a} 的相邻网格 (the line crosses no neighbour of grid {a})")
        b = max(crossed, key=lambda g: (crossed[g], g))
    both = np.flatnonzero((grid == a) | (grid == b))
    pieces = _pieces(plan, both, line)
    if len(pieces) < 2:
        raise _not_cut("两个网格")
    area = shapely.area(plan.units.geometry.to_numpy())
    in_a = grid == a
    votes = [(float(area[p][in_a[p]].sum()), float(area[p][~in_a[p]].sum())) for p in pieces]
    side = [va >= vb for va, vb in votes]
    if all(side) or not any(side):  # every piece voted alike: the one most of the other grid goes over
        k = (
            int(np.argmax([vb - va for va, vb in votes]))
            if all(side)
            else int(np.argmax([va - vb for va, vb in votes]))
        )
        side[k] = not side[k]
    new = grid.copy()
    for p, to_a in zip(pieces, side, strict=True):
        new[p] = a if to_a else b
    if (new == grid).all():
        raise GridEditError(f"网格 {a} 与 {b} 的边界没有改变 (the boundary did not change)")
    grid[:] = new


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
        if "units" in op and "line" in op:
            raise GridEditError("拆分请给出 units 或 line 之一 (split takes units or a line, not both)")
        if "line" in op:
            pieces = _pieces(plan, members, _line(op["line"]))
            if len(pieces) < 2:
                raise _not_cut("网格")
            hh = plan.units["households"].to_numpy(float)
            largest = int(np.argmax([hh[p].sum() for p in pieces]))  # keeps the code
            grid[np.concatenate([p for k, p in enumerate(pieces) if k != largest])] = new
        elif "units" in op:
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
            # the grid's area (units do not overlap within a grid: the sum, not a slow union)
            rank = reading_rank(labels, geoms[members], float(shapely.area(geoms[members]).sum()))
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
    elif kind == "boundary":
        _boundary(plan, grid, op, parent_of)
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
    return dataclasses.replace(plan, grid=grid, fields=fields, history=history, future=(), version=plan.version + 1)


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
    return EditResult(new, (*new.issues(), *stability_issues(plan, new)))


def undo(plan: GridPlan, steps: int = 1) -> GridPlan:
    """The plan as it was ``steps`` edits ago (the states undone can be redone).

    Raises
    ------
    GridEditError
        If there are fewer than ``steps`` edits to undo or ``steps`` is not positive.
    """
    _check_steps(steps)
    if steps > len(plan.history):
        raise GridEditError(f"只能撤销 {len(plan.history)} 步 (only {len(plan.history)} edits can be undone)")
    future = list(plan.future)
    grid, fields = plan.grid, plan.fields
    bounds = (plan.min_households, plan.max_households)
    for op, old_grid, old_fields in reversed(plan.history[-steps:]):
        future.append((op, grid, fields))
        grid, fields = old_grid, old_fields
        bounds = _bounds_of(op, 0, bounds)
    return dataclasses.replace(
        plan,
        grid=grid,
        fields=fields,
        history=plan.history[:-steps],
        future=tuple(future),
        version=plan.version + 1,
        min_households=bounds[0],
        max_households=bounds[1],
    )


def _bounds_of(op: dict, side: int, bounds: tuple[float, float]) -> tuple[float, float]:
    """The household bounds before (``side`` 0) or after (1) an edit that changed them
    (``op["bounds"]``: ``[[floor, ceiling] before, [floor, ceiling] after]``), else ``bounds``."""
    pair = op.get("bounds") if isinstance(op, dict) else None
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return bounds
    lo, hi = pair[side]
    return float(lo), float(hi)


def redo(plan: GridPlan, steps: int = 1) -> GridPlan:
    """The plan with ``steps`` undone edits done again.

    Raises
    ------
    GridEditError
        If fewer than ``steps`` edits were undone (an edit since an undo clears them) or
        ``steps`` is not positive.
    """
    _check_steps(steps)
    if steps > len(plan.future):
        raise GridEditError(f"只能重做 {len(plan.future)} 步 (only {len(plan.future)} edits can be redone)")
    history = list(plan.history)
    grid, fields = plan.grid, plan.fields
    bounds = (plan.min_households, plan.max_households)
    for op, new_grid, new_fields in reversed(plan.future[-steps:]):
        history.append((op, grid, fields))
        grid, fields = new_grid, new_fields
        bounds = _bounds_of(op, 1, bounds)
    return dataclasses.replace(
        plan,
        grid=grid,
        fields=fields,
        history=tuple(history[-settings.GRID_UNDO_DEPTH :]),
        future=plan.future[:-steps],
        version=plan.version + 1,
        min_households=bounds[0],
        max_households=bounds[1],
    )


def restore(plan: GridPlan, grid: np.ndarray, fields: Mapping, *, to_version: int) -> GridPlan:
    """An earlier version's grids and fields brought back as one more edit (it can be undone).

    Raises
    ------
    GridEditError
        ``grid`` does not fit the plan's units.
    """
    grid = np.asarray(grid, dtype=object)
    if grid.shape != plan.grid.shape:
        raise GridEditError(
            f"第 {to_version} 版的网格与当前单元不符，无法恢复 (version {to_version} does not fit the plan's units)"
        )
    op = {"op": "restore", "to": int(to_version)}
    history = (*plan.history, (op, plan.grid, plan.fields))[-settings.GRID_UNDO_DEPTH :]
    fields = {c: dict(f) for c, f in fields.items()}
    return dataclasses.replace(plan, grid=grid, fields=fields, history=history, future=(), version=plan.version + 1)


def _check_steps(steps: object) -> None:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise GridEditError(f"步数应为正整数，收到 {steps!r} (steps must be a positive integer)")


def touched(before: GridPlan, after: GridPlan) -> dict[str, list[str]]:
    """What an edit changed: the units that changed grid, the grid codes whose units or fields
    changed (before or after) and the parents (区划 codes) of those grids."""
    moved = np.flatnonzero(before.grid != after.grid)
    codes = set(before.grid[moved].tolist()) | set(after.grid[moved].tolist())
    codes |= {c for c in set(before.fields) | set(after.fields) if before.fields.get(c) != after.fields.get(c)}
    codes.discard("")
    in_codes = np.isin(before.grid, list(codes)) | np.isin(after.grid, list(codes))
    parents = set(before.units["parent"].to_numpy(object)[in_codes].astype(str).tolist())
    ids = before.units["unit_id"].to_numpy(object)
    return {"units": [str(u) for u in ids[moved]], "grids": sorted(codes), "parents": sorted(parents)}


def stability_issues(before: GridPlan, after: GridPlan) -> list[Issue]:
    """Code stability after an edit: an untouched grid (same units) under another code is
    ``renumbered`` (a warning; only ``renumber`` does it on purpose), and ``codes_kept`` says
    how many untouched grids kept their codes."""

    def groups(plan: GridPlan) -> dict[bytes, str]:
        sel = np.flatnonzero(plan.grid != "")
        codes, inv = np.unique(plan.grid[sel].astype(str), return_inverse=True)
        order = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[order], np.arange(codes.size + 1))
        return {sel[order[bounds[k] : bounds[k + 1]]].tobytes(): str(c) for k, c in enumerate(codes)}

    old, new = groups(before), groups(after)
    same = [key for key in new if key in old]
    renamed = [(old[k], new[k]) for k in same if old[k] != new[k]]
    out = [
        Issue(
            "renumbered",
            "warning",
            f"未改动的网格 {a} 被改编为 {b} (an untouched grid changed its code {a} -> {b})",
            grid=b,
        )
        for a, b in renamed[:50]
    ]
    kept = len(same) - len(renamed)
    out.append(
        Issue(
            "codes_kept",
            "info",
            f"{kept} 个未改动的网格编码不变 ({kept} untouched grids kept their codes)",
        )
    )
    return out
