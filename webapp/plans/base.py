"""The plan store's contract, written once: checks, versions, soft deletes, schema migrations.

A plan is a named scenario (drawn areas, candidate sites, town polygons, grid edits, notes).
:class:`PlanStore` implements every operation — create, save, delete, restore, list, get —
with optimistic concurrency and soft deletes, and keeps each project's grid plan (网格) with
every version of it (who, when, what; any version can be read back to restore it); a
backend supplies only its dialect: how to
connect, how a transaction and a read snapshot begin and end, how geometry goes in and out,
how the schema version is kept, and its migrations.

Optimistic concurrency: every plan has a ``version``; a save names the version it was
loaded at and succeeds only if that is still current (the plan row is locked, checked and
updated ``WHERE version = ...``), otherwise :class:`StaleVersionError` — never a silent
overwrite.  Deletes are soft (``deleted_at``) so that they can be undone.  Every write is
one transaction: a killed process leaves each plan at its old or its new version.  Values
are always bound as parameters, never formatted into SQL.
"""

from __future__ import annotations

import abc
import base64
import json
import logging
import zlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, cast

from geo.errors import GeoError, InputDataError
from geo.io.forget import Person, forget_in_value, mentions, redact_text

logger = logging.getLogger(__name__)

__all__ = [
    "FEATURE_KINDS",
    "LOCAL_AUTHOR",
    "Feature",
    "NotDeletedError",
    "NotFoundError",
    "PlanStore",
    "StaleVersionError",
    "StoreFullError",
    "StoreUnavailableError",
    "author_label",
]

#: What a plan holds: planned service areas, candidate centers, town polygons, grid edits.
FEATURE_KINDS = ("area", "candidate", "town", "grid")
MAX_NAME_CHARS = 200
MAX_NOTES_CHARS = 20_000
MAX_FEATURES = 2_000
#: The author recorded for a plan made or saved in single-user mode (no accounts): shown as
#: 本机 ("this computer"); a user name cannot contain ``:``, so it is never an account's.
LOCAL_AUTHOR = ":local"


def author_label(author: str | None) -> str:
    """An author as a Chinese document names it: the account's name, 本机 for :data:`LOCAL_AUTHOR`, else 未记录."""
    if author == LOCAL_AUTHOR:
        return "本机"
    return author or "未记录"


#: Plan ids are server-assigned 64-bit integers; anything else is "no such plan".
MAX_PLAN_ID = 2**63 - 1


class NotFoundError(GeoError):
    """No such plan (HTTP 404)."""


class NotDeletedError(InputDataError):
    """A restore of a plan that is not in the recycle bin (HTTP 422)."""


class StaleVersionError(GeoError):
    """The plan changed since it was loaded (HTTP 409)."""

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current


class StoreFullError(GeoError):
    """The disk (or the database's size limit) is full: nothing was written (HTTP 507)."""


class StoreUnavailableError(GeoError):
    """The plan store cannot be opened or written (read-only folder, network share, server down)."""


@dataclass(frozen=True)
class Feature:
    """One drawn feature of a plan (geometry: a GeoJSON dict in WGS84)."""

    kind: str
    name: str
    geometry: dict
    properties: dict


def check_text(value: object, field: str, limit: int) -> str:
    """``value`` as text of at most ``limit`` characters without NUL, else :class:`InputDataError`."""
    if not isinstance(value, str):
        raise InputDataError(f"{field} 应为文字 ({field} must be a string)")
    if len(value) > limit:
        raise InputDataError(f"{field} 超过 {limit} 个字符 ({field} too long)")
    if "\x00" in value:
        raise InputDataError(f"{field} 含有 NUL 字符 ({field} contains a NUL character)")
    return value


def _plan_name(value: object) -> str:
    name = check_text(value, "方案名称 name", MAX_NAME_CHARS).strip()
    if not name:
        raise InputDataError("方案名称不能为空 (a plan needs a name)")
    return name


def plan_id_of(plan_id: object) -> int:
    """A plan id as the database knows it; :class:`NotFoundError` for anything else."""
    try:
        value = int(plan_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = 0
    if isinstance(plan_id, bool) or not 1 <= value <= MAX_PLAN_ID:
        raise NotFoundError(f"没有编号为 {str(plan_id)[:40]} 的方案 (no such plan)")
    return value


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def feature_rows(features: Sequence[Feature]) -> list[tuple[str, str, str, str]]:
    """``(kind, name, geometry JSON, properties JSON)`` per feature, checked alike for every backend.

    Raises
    ------
    InputDataError
        Unknown kind, a name that is not short text, a geometry that is not a GeoJSON
        object, NaN/Infinity or NUL characters (PostgreSQL refuses NUL in text and jsonb).
    """
    if len(features) > MAX_FEATURES:
        raise InputDataError(f"一个方案最多 {MAX_FEATURES} 个图形 (too many features)")
    rows = []
    for k, f in enumerate(features):
        where = f"第 {k + 1} 个图形 (feature {k + 1})"
        if f.kind not in FEATURE_KINDS:
            raise InputDataError(f"{where} 的类别 kind={f.kind!r} 无效，可选: {', '.join(FEATURE_KINDS)}")
        name = check_text(f.name, f"{where} 名称 name", MAX_NAME_CHARS)
        if not isinstance(f.geometry, dict) or not isinstance(f.geometry.get("type"), str):
            raise InputDataError(f"{where} 的 geometry 应为 GeoJSON 几何对象 (geometry must be a GeoJSON object)")
        if not isinstance(f.properties, dict) or _has_nul(f.properties) or _has_nul(f.geometry):
            raise InputDataError(f"{where} 的属性应为对象且不含 NUL 字符 (properties: an object without NUL)")
        try:
            geometry = json.dumps(f.geometry, ensure_ascii=False, allow_nan=False)
            properties = json.dumps(f.properties, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputDataError(f"{where} 含有无法保存的值（非有限数或非 JSON 值） (not storable as JSON)") from exc
        rows.append((f.kind, name, geometry, properties))
    return rows


def check_version(version: object) -> int:
    """A plan version sent by a client: an integer, else :class:`InputDataError`."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputDataError("version 应为整数 (version must be an integer)")
    return version


def _not_found(plan_id: int) -> NotFoundError:
    return NotFoundError(f"没有编号为 {plan_id} 的方案 (no such plan)")


def _grid_stale(project: str, found: int, version: int) -> StaleVersionError:
    return StaleVersionError(
        f"网格方案已被他人修改（当前第 {found} 版，您的编辑基于第 {version} 版），请刷新后重做 "
        f"(the grids of {project} were changed by someone else: version {found}, your edit was made on {version})",
        current=found,
    )


class _GridMethods:
    """Each project's grid plan and its versions, mixed into :class:`PlanStore`.

    ``grid_plans`` holds per project the plan's fixed part (``base``: units, parents, bounds)
    and its current state (``state``: codes, fields, undo and redo stacks) as opaque text, and
    the version; ``grid_versions`` holds one row per version: the operation, a summary, who and
    when, and the grids and fields of that version (``snapshot``).  A save names the version
    it was made on, as a plan's save does (:class:`StaleVersionError` otherwise).
    """

    def grid_plan(self: Any, project: str) -> dict | None:
        """The project's grid plan row (``version``, ``base``, ``state``, ``updated_at``, ``updated_by``) or None."""
        with self._read() as con:
            row = self._run(
                con,
                "SELECT version, base, state, updated_at, updated_by FROM grid_plans WHERE project = ?",
                (project,),
            ).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["updated_at"] = self._iso(out["updated_at"])
        return out

    def grid_plan_version(self: Any, project: str) -> int | None:
        """The project's current grid plan version (None: no grid plan yet)."""
        with self._read() as con:
            row = self._run(con, "SELECT version FROM grid_plans WHERE project = ?", (project,)).fetchone()
        return None if row is None else int(row["version"])

    def create_grid_plan(
        self: Any, project: str, *, version: int, base: str, state: str, snapshot: str, user: str, summary: str
    ) -> bool:
        """Store a project's first grid plan with its first version; False (nothing written) when one exists."""
        now = self._now()
        with self._tx() as con:
            cur = self._run(
                con,
                "INSERT INTO grid_plans (project, version, base, state, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project) DO NOTHING",
                (project, version, base, state, now, user),
            )
            if cur.rowcount != 1:
                return False
            self._run(
                con,
                "INSERT INTO grid_versions (project, version, op, summary, user_name, at, snapshot) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (project, version, json.dumps({"op": "generate"}), summary, user, now, snapshot),
            )
        return True

    def save_grid_plan(
        self: Any,
        project: str,
        *,
        version: int,
        new_version: int,
        state: str,
        snapshot: str,
        op: dict,
        summary: str,
        user: str,
        base: str | None = None,
    ) -> None:
        """Write the grid plan edited at ``version`` as ``new_version``, with the version's row.

        With ``base`` the plan's fixed part is replaced too (its units were made anew: h-micro3,
        micro-grids over street blocks made again); the earlier versions stay listed.

        Raises
        ------
        StaleVersionError
            The stored plan is no longer at ``version`` (someone else's edit came first).
        NotFoundError
            The project has no grid plan.
        """
        op_text = json.dumps(op, ensure_ascii=False, allow_nan=False)
        now = self._now()
        with self._tx() as con:
            row = self._run(con, f"SELECT version FROM grid_plans WHERE project = ?{self._LOCK}", (project,)).fetchone()
            if row is None:
                raise NotFoundError(f"项目 {project} 还没有网格方案 (no grid plan for this project)")
            if row["version"] != version:
                raise _grid_stale(project, int(row["version"]), version)
            fixed = ("base = ?, ", (base,)) if base is not None else ("", ())
            self._run(
                con,
                f"UPDATE grid_plans SET version = ?, {fixed[0]}state = ?, updated_at = ?, updated_by = ? "
                "WHERE project = ? AND version = ?",
                (new_version, *fixed[1], state, now, user, project, version),
            )
            self._run(
                con,
                "INSERT INTO grid_versions (project, version, op, summary, user_name, at, snapshot) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (project, new_version, op_text, summary, user, now, snapshot),
            )

    def grid_history(self: Any, project: str, *, since: int = -1, limit: int = 200) -> list[dict]:
        """The versions of a project's grid plan after ``since``, newest first: version, op, summary, user, time."""
        with self._read() as con:
            rows = self._run(
                con,
                "SELECT version, op, summary, user_name, at FROM grid_versions "
                "WHERE project = ? AND version > ? ORDER BY version DESC LIMIT ?",
                (project, since, limit),
            ).fetchall()
        return [
            {
                "version": int(r["version"]),
                "op": json.loads(r["op"]),
                "summary": r["summary"],
                "user": r["user_name"],
                "at": self._iso(r["at"]),
            }
            for r in rows
        ]

    def grid_snapshot(self: Any, project: str, version: int) -> str:
        """The grids and fields of one version (as saved); :class:`NotFoundError` when there is no such version."""
        with self._read() as con:
            row = self._run(
                con, "SELECT snapshot FROM grid_versions WHERE project = ? AND version = ?", (project, version)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"网格方案没有第 {version} 版 (no such version of the grids)")
        return str(row["snapshot"])


class PlanStore(_GridMethods, abc.ABC):
    """The plan database: every operation written once over a backend's dialect.

    A backend sets :attr:`MIGRATIONS` and implements the abstract methods below; SQL is
    written with ``?`` placeholders and the backend's :meth:`_sql` turns them into its own.
    """

    #: The schema, as a list of migrations: entry ``k`` brings a store from version ``k``
    #: to ``k + 1``; each is a sequence of statements run in one transaction.  Version 0 is
    #: a new database or one made before the schema was versioned (the first migration
    #: only creates what is missing, so such a store keeps its plans).
    MIGRATIONS: Sequence[Sequence[str]] = ()
    #: How the store is named in messages (a file name or ``host:port/db``; never a password).
    location: str = ""

    @property
    def schema_version(self) -> int:
        """The schema version this code writes (the number of migrations)."""
        return len(self.MIGRATIONS)

    # ---------------------------------------------------------------- dialect

    @abc.abstractmethod
    def _tx(self) -> AbstractContextManager[Any]:
        """One write transaction (rows locked by ``FOR UPDATE`` where the dialect has it)."""

    @abc.abstractmethod
    def _read(self) -> AbstractContextManager[Any]:
        """One consistent read snapshot."""

    @abc.abstractmethod
    def _get_version(self, con: Any) -> int:
        """The schema version recorded in the database."""

    @abc.abstractmethod
    def _set_version(self, con: Any, version: int) -> None:
        """Record the schema version (inside the migrating transaction)."""

    @abc.abstractmethod
    def _now(self) -> object:
        """The current time as the dialect stores it."""

    @abc.abstractmethod
    def _iso(self, value: Any) -> str | None:
        """A stored timestamp as ISO-8601 UTC text."""

    @abc.abstractmethod
    def integrity_ok(self) -> bool:
        """The database is consistent (the dialect's own check)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connections; a later call opens new ones."""

    #: ``FOR UPDATE`` where rows are locked one by one; SQLite locks the database instead.
    _LOCK = ""
    #: The feature columns read back, and the VALUES of an insert (geometry and properties in).
    _FEATURE_SELECT = "id, kind, name, geometry, properties"
    _FEATURE_VALUES = "(?, ?, ?, ?, ?)"
    #: A JSON parameter as the dialect takes it.
    _JSON_PARAM = "?"

    def _sql(self, query: str) -> str:
        return query

    def _executemany(self, con: Any, query: str, rows: list[tuple]) -> None:
        con.executemany(self._sql(query), rows)

    def _decode_feature(self, row: Any) -> dict:
        return {
            "id": row["id"],
            "kind": row["kind"],
            "name": row["name"],
            "geometry": json.loads(row["geometry"]),
            "properties": json.loads(row["properties"]),
        }

    def _run(self, con: Any, query: str, params: Sequence[object] = ()) -> Any:
        return con.execute(self._sql(query), tuple(params))

    # ---------------------------------------------------------------- schema

    def _migrate(self, con: Any) -> None:
        """Bring the schema to :attr:`schema_version` inside the caller's transaction.

        Raises
        ------
        StoreUnavailableError
            The database was written by a newer version of Linli.
        """
        found = self._get_version(con)
        if found > self.schema_version:
            raise StoreUnavailableError(
                f"方案库 {self.location} 的结构版本为 {found}，高于本程序支持的 {self.schema_version}；"
                "请升级 Linli 后再打开 (the plan store was written by a newer Linli: "
                f"schema version {found} > {self.schema_version})"
            )
        for version in range(found, self.schema_version):
            for statement in self.MIGRATIONS[version]:
                con.execute(statement)
            logger.info("plan store %s: schema migrated to version %d", self.location, version + 1)
        if found != self.schema_version:
            self._set_version(con, self.schema_version)

    # ---------------------------------------------------------------- reading

    def _plan_dict(self, row: Any) -> dict:
        plan = dict(row)
        for key in ("created_at", "updated_at", "deleted_at"):
            plan[key] = self._iso(plan[key])
        return plan

    def list_plans(self, *, deleted: bool = False) -> list[dict]:
        """Plans (without features), newest first; ``deleted=True`` lists the recycle bin."""
        where = "p.deleted_at IS NOT NULL" if deleted else "p.deleted_at IS NULL"
        with self._read() as con:
            rows = self._run(
                con,
                "SELECT p.id, p.name, p.notes, p.version, p.created_at, p.updated_at, p.deleted_at, "
                "p.created_by, p.updated_by, "
                "(SELECT COUNT(*) FROM features f WHERE f.plan_id = p.id) AS n_features "
                f"FROM plans p WHERE {where} ORDER BY p.updated_at DESC, p.id DESC",
            ).fetchall()
        return [self._plan_dict(r) for r in rows]

    def get(self, plan_id: int, *, include_deleted: bool = False) -> dict:
        """A plan with its features, both from one read snapshot; :class:`NotFoundError` when there is none."""
        plan_id = plan_id_of(plan_id)
        with self._read() as con:
            return self._plan_in(con, plan_id, include_deleted=include_deleted)

    def _plan_in(self, con: Any, plan_id: int, *, include_deleted: bool = False) -> dict:
        """The plan and its features as ``con``'s transaction sees them (a write answers with what it wrote)."""
        row = self._run(
            con,
            "SELECT id, name, notes, version, created_at, updated_at, deleted_at, created_by, updated_by "
            "FROM plans WHERE id = ?",
            (plan_id,),
        ).fetchone()
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            raise _not_found(plan_id)
        features = self._run(
            con, f"SELECT {self._FEATURE_SELECT} FROM features WHERE plan_id = ? ORDER BY id", (plan_id,)
        ).fetchall()
        plan = self._plan_dict(row)
        plan["features"] = [self._decode_feature(f) for f in features]
        return plan

    def _locked_plan(self, con: Any, plan_id: int, *, deleted: bool = False) -> Any:
        state = "IS NOT NULL" if deleted else "IS NULL"
        query = f"SELECT id, name, notes, version FROM plans WHERE id = ? AND deleted_at {state}{self._LOCK}"
        return self._run(con, query, (plan_id,)).fetchone()

    # ---------------------------------------------------------------- writing

    def create(self, name: str, notes: str = "", *, features: Sequence[Feature] = (), author: str = "") -> dict:
        """A new plan at version 1 holding ``features``: all of it or, on any bad value, nothing.

        ``author``: who creates it (an account name, :data:`LOCAL_AUTHOR` in single-user mode),
        recorded as ``created_by`` and ``updated_by``.

        Raises
        ------
        InputDataError
            A name, note or feature that cannot be stored (no plan is created).
        """
        name = _plan_name(name)
        notes = check_text(notes, "备注 notes", MAX_NOTES_CHARS)
        rows = feature_rows(features)
        now = self._now()
        with self._tx() as con:
            plan_id = self._run(
                con,
                "INSERT INTO plans (name, notes, version, created_at, updated_at, created_by, updated_by) "
                "VALUES (?, ?, 1, ?, ?, ?, ?) RETURNING id",
                (name, notes, now, now, author, author),
            ).fetchone()["id"]
            self._insert_features(con, plan_id, rows)
            return self._plan_in(con, plan_id)

    def _insert_features(self, con: Any, plan_id: int, rows: list[tuple[str, str, str, str]]) -> None:
        if rows:
            self._executemany(
                con,
                f"INSERT INTO features (plan_id, kind, name, geometry, properties) VALUES {self._FEATURE_VALUES}",
                [(plan_id, *r) for r in rows],
            )

    def save(
        self,
        plan_id: int,
        *,
        version: int,
        name: str | None = None,
        notes: str | None = None,
        features: list[Feature] | None = None,
        author: str | None = None,
    ) -> dict:
        """Save a plan loaded at ``version``: name, notes and (if given) all its features.

        ``author``: who saves it (``updated_by``; None keeps the last one, for scripts).

        Raises
        ------
        StaleVersionError
            Someone saved the plan since ``version`` (the current version is attached).
        NotFoundError
            No such plan (or it is deleted).
        InputDataError
            A name, note or feature that cannot be stored (nothing is saved).
        """
        version = check_version(version)
        plan_id = plan_id_of(plan_id)
        rows = None if features is None else feature_rows(features)
        with self._tx() as con:
            row = self._locked_plan(con, plan_id)
            if row is None:
                raise _not_found(plan_id)
            if row["version"] != version:
                raise StaleVersionError(
                    f"方案「{row['name']}」已被他人修改（当前版本 {row['version']}，您打开的是版本 {version}），"
                    "请重新加载后再保存 (the plan was changed by someone else; reload it)",
                    current=row["version"],
                )
            new_name = row["name"] if name is None else _plan_name(name)
            new_notes = row["notes"] if notes is None else check_text(notes, "备注 notes", MAX_NOTES_CHARS)
            cur = self._run(
                con,
                "UPDATE plans SET name = ?, notes = ?, version = version + 1, updated_at = ?, "
                "updated_by = COALESCE(?, updated_by) WHERE id = ? AND version = ?",
                (new_name, new_notes, self._now(), author, plan_id, version),
            )
            if cur.rowcount != 1:  # cannot happen with the row or database locked; kept as the guard it is
                raise StaleVersionError("方案已被他人修改 (the plan was changed by someone else)", current=-1)
            if rows is not None:
                self._run(con, "DELETE FROM features WHERE plan_id = ?", (plan_id,))
                self._insert_features(con, plan_id, rows)
            return self._plan_in(con, plan_id)  # the version written here, never a later writer's

    def delete(self, plan_id: int, *, version: int | None = None) -> dict:
        """Move a plan to the recycle bin (undo with :meth:`restore`)."""
        plan_id = plan_id_of(plan_id)
        with self._tx() as con:
            row = self._locked_plan(con, plan_id)
            if row is None:
                raise _not_found(plan_id)
            if version is not None and row["version"] != version:
                raise StaleVersionError(
                    f"方案「{row['name']}」已被他人修改，请重新加载 (the plan was changed; reload it)",
                    current=row["version"],
                )
            self._run(con, "UPDATE plans SET deleted_at = ? WHERE id = ?", (self._now(), plan_id))
        return {"id": plan_id, "deleted": True}

    def restore(self, plan_id: int, *, author: str | None = None) -> dict:
        """Take a plan back out of the recycle bin.

        Raises
        ------
        NotFoundError
            No plan, deleted or not, has this id.
        NotDeletedError
            The plan is not in the recycle bin (nothing to restore).
        """
        plan_id = plan_id_of(plan_id)
        with self._tx() as con:
            if self._locked_plan(con, plan_id, deleted=True) is None:
                live = self._locked_plan(con, plan_id)
                if live is not None:
                    raise NotDeletedError(
                        f"方案「{live['name']}」（编号 {plan_id}）不在回收站中，无需恢复 "
                        "(the plan is not deleted; nothing to restore)"
                    )
                raise NotFoundError(f"回收站中没有编号为 {plan_id} 的方案 (no such deleted plan)")
            self._run(
                con,
                "UPDATE plans SET deleted_at = NULL, updated_at = ?, updated_by = COALESCE(?, updated_by) WHERE id = ?",
                (self._now(), author, plan_id),
            )
            return self._plan_in(con, plan_id)

    # ---------------------------------------------------------------- personal data (h-acct)

    def forget_person(self, person: Person, *, author: str | None = None, dry_run: bool = False) -> int:
        """Take a person out of every plan, live or in the recycle bin: feature names and
        properties about them (:func:`geo.io.forget.forget_in_value`), their name and phone in
        plan names and notes (:func:`geo.io.forget.redact_text`).  Each changed plan gets a new
        version (saved by ``author``), so a page holding the old one cannot save it back.
        Returns the pieces removed; ``dry_run`` counts without writing.
        """
        removed = 0
        with self._tx() as con:
            changed: set[int] = set()
            for row in self._run(con, "SELECT id, plan_id, name, properties FROM features ORDER BY id").fetchall():
                props = row["properties"]
                props = json.loads(props) if isinstance(props, str) else props
                new_props, n = forget_in_value(props, person)
                name_gone = mentions(row["name"], person)
                n += int(name_gone)
                if not n:
                    continue
                removed += n
                changed.add(row["plan_id"])
                if not dry_run:
                    self._run(
                        con,
                        f"UPDATE features SET name = ?, properties = {self._JSON_PARAM} WHERE id = ?",
                        ("" if name_gone else row["name"], json.dumps(new_props, ensure_ascii=False), row["id"]),
                    )
            for row in self._run(con, "SELECT id, name, notes FROM plans ORDER BY id").fetchall():
                name, n_name = redact_text(row["name"], person)
                notes, n_notes = redact_text(row["notes"], person)
                if n_name or n_notes:
                    removed += n_name + n_notes
                    changed.add(row["id"])
                    if not dry_run:
                        self._run(con, "UPDATE plans SET name = ?, notes = ? WHERE id = ?", (name, notes, row["id"]))
            if not dry_run:
                for plan_id in sorted(changed):
                    self._run(
                        con,
                        "UPDATE plans SET version = version + 1, updated_at = ?, "
                        "updated_by = COALESCE(?, updated_by) WHERE id = ?",
                        (self._now(), author, plan_id),
                    )
            removed += self._forget_in_grids(con, person, author=author, dry_run=dry_run)
        if removed and not dry_run:
            self.purge_old_versions()
        return removed

    def _forget_in_grids(self, con: Any, person: Person, *, author: str | None, dry_run: bool) -> int:
        """The person taken out of every project's grid plan and each of its versions (the grid
        fields such as 网格员 or 党员中心户, in the plan and in its history).

        A project whose current grids changed gets a new version (op ``forget``, by ``author``,
        the summary without the person), as a changed plan does: a server holding the grids in
        memory sees the store's version move and reads them again, so it cannot write the person
        back (a removal from the command line while the server runs, issue 19); a page open on
        the old version gets the usual 409 and reloads.
        """

        def redacted(text: str) -> tuple[str, int]:
            if not text:
                return text, 0
            packed = not text.lstrip().startswith(("{", "["))
            value, n = forget_in_value(unpack_json(text) if packed else json.loads(text), person)
            if not n:
                return text, 0
            return (pack_json(value) if packed else json.dumps(value, ensure_ascii=False, allow_nan=False)), n

        removed = 0
        # The grid plans first, locked (PostgreSQL: FOR UPDATE): a server saving its grids waits, so
        # no version is added between the scan of the versions below and the new version written
        # here (one added before the lock is in the scan, committed as it is).
        now = self._now()
        plans = self._run(
            con, f"SELECT project, version, base, state FROM grid_plans ORDER BY project{self._LOCK}"
        ).fetchall()
        rows = self._run(
            con, "SELECT project, version, op, summary, snapshot FROM grid_versions ORDER BY project, version"
        ).fetchall()
        for row in rows:
            snapshot, n_snapshot = redacted(row["snapshot"])
            op, n_op = redacted(row["op"])
            summary, n_summary = redact_text(row["summary"], person)
            if n_snapshot or n_op or n_summary:
                removed += n_snapshot + n_op + n_summary
                if not dry_run:
                    self._run(
                        con,
                        "UPDATE grid_versions SET snapshot = ?, op = ?, summary = ? WHERE project = ? AND version = ?",
                        (snapshot, op, summary, row["project"], row["version"]),
                    )
        for row in plans:
            base, n_base = redacted(row["base"])
            state, n_state = redacted(row["state"])
            if not (n_base or n_state):
                continue
            removed += n_base + n_state
            if dry_run:
                continue
            if n_state:  # the current grids changed: a new version of them
                version = int(row["version"]) + 1
                value = cast(dict, unpack_json(state))
                state = pack_json({**value, "version": version})
                self._run(
                    con,
                    "INSERT INTO grid_versions (project, version, op, summary, user_name, at, snapshot) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["project"],
                        version,
                        json.dumps({"op": "forget"}),
                        FORGET_SUMMARY,
                        author or "",
                        now,
                        pack_json({"grid": value["grid"], "fields": value["fields"]}),
                    ),
                )
                self._run(
                    con,
                    "UPDATE grid_plans SET base = ?, state = ?, version = ?, updated_at = ?, "
                    "updated_by = COALESCE(?, updated_by) WHERE project = ?",
                    (base, state, version, now, author, row["project"]),
                )
            else:
                self._run(con, "UPDATE grid_plans SET base = ? WHERE project = ?", (base, row["project"]))
        return removed

    def purge_old_versions(self) -> None:
        """Let the database drop the old copies of changed rows (after a person is removed)."""


#: A grid version made by removing a person: its history line (names no one).
FORGET_SUMMARY = "删除个人信息（应本人要求） personal data removed on request"


def pack_json(value: object) -> str:
    """JSON, deflated, as ASCII text (a grid version: a few kB instead of tens)."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(raw, 1)).decode("ascii")


def unpack_json(text: str) -> object:
    """The value :func:`pack_json` packed."""
    return json.loads(zlib.decompress(base64.b64decode(text)).decode("utf-8"))


def iter_statements(script: str) -> Iterator[str]:
    """The statements of a schema script (``;``-separated, no ``;`` inside a statement)."""
    for part in script.split(";"):
        if part.strip():
            yield part.strip()
