"""Saved plans (named scenarios: drawn areas, candidate sites, notes) in a real database.

All schema and SQL of the plan store live here.  The default is SQLite in WAL mode
in the app's instance folder (one office machine, many browser tabs); every write is
one transaction, so a killed process leaves each plan at its old or its new version.

Optimistic concurrency: every plan has a ``version``; a save names the version it
was loaded at and succeeds only if that is still current (``UPDATE ... WHERE
version = ?``), otherwise :class:`StaleVersionError` — never a silent overwrite.
Deletes are soft (``deleted_at``) so that they can be undone.

Geometries are stored as GeoJSON text in WGS84; values are always bound as
parameters, never formatted into SQL (BAD_INPUTS G9).

A multi-user office can keep its plans on PostgreSQL + PostGIS instead: give
:func:`open_store` a ``postgresql://`` URL and it returns the
:class:`webapp.store_pg.PgPlanStore` (same public methods, same semantics; geometry
columns with SRID 4326 and a GiST index).  The app builds its store only through
:func:`open_store`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from geo.errors import GeoError, InputDataError

logger = logging.getLogger(__name__)

__all__ = [
    "FEATURE_KINDS",
    "Feature",
    "NotFoundError",
    "PlanStore",
    "StaleVersionError",
    "StoreFullError",
    "StoreUnavailableError",
    "open_store",
]

#: What a plan holds: planned service areas, candidate centers, town polygons, grid edits.
FEATURE_KINDS = ("area", "candidate", "town", "grid")
MAX_NAME_CHARS = 200
MAX_NOTES_CHARS = 20_000
MAX_FEATURES = 2_000
#: Plan ids are server-assigned 64-bit integers (BAD_INPUTS G12); anything else is "no such plan".
MAX_PLAN_ID = 2**63 - 1
#: URL schemes that select the PostgreSQL + PostGIS backend.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")

SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    notes       TEXT    NOT NULL DEFAULT '',
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    deleted_at  TEXT
);
CREATE TABLE IF NOT EXISTS features (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id     INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('area', 'candidate', 'town', 'grid')),
    name        TEXT    NOT NULL DEFAULT '',
    geometry    TEXT    NOT NULL,
    properties  TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS features_plan ON features(plan_id);
"""


class NotFoundError(GeoError):
    """No such plan (HTTP 404)."""


class StaleVersionError(GeoError):
    """The plan changed since it was loaded (HTTP 409)."""

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current


class StoreFullError(GeoError):
    """The disk (or the database's size limit) is full: nothing was written (HTTP 507)."""


class StoreUnavailableError(GeoError):
    """The plan store cannot be opened or written (read-only folder, network share)."""


@dataclass(frozen=True)
class Feature:
    """One drawn feature of a plan (geometry: a GeoJSON dict in WGS84)."""

    kind: str
    name: str
    geometry: dict
    properties: dict


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _check_text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InputDataError(f"{field} 应为文字 ({field} must be a string)")
    if len(value) > limit:
        raise InputDataError(f"{field} 超过 {limit} 个字符 ({field} too long)")
    if "\x00" in value:
        raise InputDataError(f"{field} 含有 NUL 字符 ({field} contains a NUL character)")
    return value


def _plan_id(plan_id: object) -> int:
    """A plan id as the database knows it; :class:`NotFoundError` for anything else (G12)."""
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


def _feature_rows(features: list[Feature]) -> list[tuple[str, str, str, str]]:
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
        name = _check_text(f.name, f"{where} 名称 name", MAX_NAME_CHARS)
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


def _stale(name: str, current: int, version: int) -> StaleVersionError:
    return StaleVersionError(
        f"方案「{name}」已被他人修改（当前版本 {current}，您打开的是版本 {version}），"
        "请重新加载后再保存 (the plan was changed by someone else; reload it)",
        current=current,
    )


def _check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputDataError("version 应为整数 (version must be an integer)")
    return version


def open_store(location: str | os.PathLike) -> PlanStore:
    """The plan store at ``location``: a ``postgresql://`` URL (PostGIS) or a SQLite file path.

    Parameters
    ----------
    location
        ``postgresql://user@host:5432/linli`` (libpq URL; a password is better kept in
        ``~/.pgpass`` or ``PGPASSWORD`` than in the URL) or the path of the SQLite file.

    Raises
    ------
    StoreUnavailableError
        The database cannot be opened or written (C6).
    """
    text = os.fspath(location)
    if isinstance(text, str) and text.lower().startswith(POSTGRES_SCHEMES):
        from webapp.store_pg import PgPlanStore

        return PgPlanStore(text)  # type: ignore[return-value]
    return PlanStore(Path(text))


class PlanStore:
    """The plan database (SQLite, WAL).  Thread-safe: one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path.parent, os.W_OK):
                raise StoreUnavailableError(
                    f"方案库所在文件夹不可写: {self.path.parent.name} (plan store folder is read-only)"
                )
            with self._conn() as con:
                mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    # WAL needs shared memory: network file systems refuse it (C6).
                    raise StoreUnavailableError(
                        f"方案库无法使用 WAL 模式（可能在网络共享盘上）: journal_mode={mode} "
                        "(the plan store must be on a local disk)"
                    )
                con.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(
                f"无法打开方案库 {self.path.name} (cannot open the plan store): {type(exc).__name__}"
            ) from exc

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=True)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA busy_timeout=10000")
            self._local.con = con
        return con

    @contextmanager
    def _tx(self):
        con = self._conn()
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
                # F2: the transaction is rolled back, the plan keeps its last saved version.
                raise StoreFullError(
                    "磁盘已满，方案未保存（已保存的版本完好）；请清理磁盘后重试 "
                    "(disk full: the plan was not saved; the saved version is intact)"
                ) from exc
            if isinstance(exc, sqlite3.Error):
                raise StoreUnavailableError(
                    f"方案库写入失败，方案未保存 (the plan store could not be written: {type(exc).__name__})"
                ) from exc
            raise

    # ------------------------------------------------------------------ reading

    def list_plans(self, *, deleted: bool = False) -> list[dict]:
        """Plans (without features), newest first; ``deleted=True`` lists the recycle bin."""
        where = "deleted_at IS NOT NULL" if deleted else "deleted_at IS NULL"
        rows = self._conn().execute(
            f"SELECT p.*, (SELECT COUNT(*) FROM features f WHERE f.plan_id = p.id) AS n_features "
            f"FROM plans p WHERE {where} ORDER BY updated_at DESC, id DESC"
        )
        return [dict(r) for r in rows]

    def get(self, plan_id: int, *, include_deleted: bool = False) -> dict:
        """A plan with its features; :class:`NotFoundError` when there is none."""
        plan_id = _plan_id(plan_id)
        con = self._conn()
        row = con.execute("SELECT * FROM plans WHERE id = ?", (plan_id,)).fetchone()
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            raise NotFoundError(f"没有编号为 {plan_id} 的方案 (no such plan)")
        plan = dict(row)
        plan["features"] = [
            {
                "id": f["id"],
                "kind": f["kind"],
                "name": f["name"],
                "geometry": json.loads(f["geometry"]),
                "properties": json.loads(f["properties"]),
            }
            for f in con.execute("SELECT * FROM features WHERE plan_id = ? ORDER BY id", (plan_id,))
        ]
        return plan

    # ------------------------------------------------------------------ writing

    def create(self, name: str, notes: str = "") -> dict:
        """A new empty plan at version 1."""
        name = _check_text(name, "方案名称 name", MAX_NAME_CHARS).strip()
        if not name:
            raise InputDataError("方案名称不能为空 (a plan needs a name)")
        notes = _check_text(notes, "备注 notes", MAX_NOTES_CHARS)
        now = _now()
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO plans (name, notes, version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)",
                (name, notes, now, now),
            )
            plan_id = cur.lastrowid
        return self.get(plan_id)

    def save(
        self,
        plan_id: int,
        *,
        version: int,
        name: str | None = None,
        notes: str | None = None,
        features: list[Feature] | None = None,
    ) -> dict:
        """Save a plan loaded at ``version``: name, notes and (if given) all its features.

        Raises
        ------
        StaleVersionError
            Someone saved the plan since ``version`` (the current version is attached).
        NotFoundError
            No such plan (or it is deleted).
        """
        version = _check_version(version)
        plan_id = _plan_id(plan_id)
        rows = None if features is None else _feature_rows(features)
        with self._tx() as con:
            row = con.execute("SELECT * FROM plans WHERE id = ? AND deleted_at IS NULL", (plan_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"没有编号为 {plan_id} 的方案 (no such plan)")
            if row["version"] != version:
                raise _stale(row["name"], row["version"], version)
            new_name = row["name"] if name is None else _check_text(name, "方案名称 name", MAX_NAME_CHARS).strip()
            if not new_name:
                raise InputDataError("方案名称不能为空 (a plan needs a name)")
            new_notes = row["notes"] if notes is None else _check_text(notes, "备注 notes", MAX_NOTES_CHARS)
            cur = con.execute(
                "UPDATE plans SET name = ?, notes = ?, version = version + 1, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (new_name, new_notes, _now(), plan_id, version),
            )
            if cur.rowcount != 1:  # cannot happen inside BEGIN IMMEDIATE; kept as the guard it is
                raise StaleVersionError("方案已被他人修改 (the plan was changed by someone else)", current=-1)
            if rows is not None:
                con.execute("DELETE FROM features WHERE plan_id = ?", (plan_id,))
                con.executemany(
                    "INSERT INTO features (plan_id, kind, name, geometry, properties) VALUES (?, ?, ?, ?, ?)",
                    [(plan_id, *r) for r in rows],
                )
        return self.get(plan_id)

    def delete(self, plan_id: int, *, version: int | None = None) -> dict:
        """Move a plan to the recycle bin (undo with :meth:`restore`)."""
        plan_id = _plan_id(plan_id)
        with self._tx() as con:
            row = con.execute("SELECT * FROM plans WHERE id = ? AND deleted_at IS NULL", (plan_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"没有编号为 {plan_id} 的方案 (no such plan)")
            if version is not None and row["version"] != version:
                raise StaleVersionError(
                    f"方案「{row['name']}」已被他人修改，请重新加载 (the plan was changed; reload it)",
                    current=row["version"],
                )
            con.execute("UPDATE plans SET deleted_at = ? WHERE id = ?", (_now(), plan_id))
        return {"id": plan_id, "deleted": True}

    def restore(self, plan_id: int) -> dict:
        """Take a plan back out of the recycle bin."""
        plan_id = _plan_id(plan_id)
        with self._tx() as con:
            row = con.execute("SELECT * FROM plans WHERE id = ? AND deleted_at IS NOT NULL", (plan_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"回收站中没有编号为 {plan_id} 的方案 (no such deleted plan)")
            con.execute("UPDATE plans SET deleted_at = NULL, updated_at = ? WHERE id = ?", (_now(), plan_id))
        return self.get(plan_id)

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok."""
        return self._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
