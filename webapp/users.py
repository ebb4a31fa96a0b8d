"""Accounts, login throttling and the audit log, kept where the plans are.

With the SQLite plan store (the default) the users live in ``users.sqlite3`` in the instance
folder; with a PostGIS plan store (``--plan-db postgresql://...``) they live in the same
PostgreSQL database (:class:`webapp.users_pg.PostgresUserStore`, same tables, same rules):
:func:`webapp.accounts.open_user_store` chooses.  Every rule is written once in :class:`BaseUserStore`.
Passwords are hashed with scrypt (``werkzeug.security``, maintained with Flask); a user's
``session_epoch`` is part of every session, so raising it ends all of them ("logout
everywhere").  Plans record the area code they belong to (``plan_areas``) so that a planner
edits the plans of their own county, town or community and reads the rest.
"""

from __future__ import annotations

import abc
import datetime as dt
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from geo.errors import GeoError, InputDataError
from geo.io.forget import Person, mentions

__all__ = [
    "ROLES",
    "BaseUserStore",
    "LoginThrottledError",
    "UnknownUserError",
    "UserStore",
    "check_name",
    "check_password",
    "check_scope",
    "in_scope",
]

#: county administrator (everything, users), planner (edits plans of their area), viewer (reads).
ROLES = ("admin", "planner", "viewer")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200
#: Failed logins allowed before a wait; each further failure doubles the wait, up to an hour.
FREE_FAILURES = 5
FIRST_WAIT_S = 30.0
MAX_WAIT_S = 3600.0
_NAME = re.compile(r"^[\w.\-@]{1,64}$")
#: What an audit entry's object or detail becomes once the person it named is forgotten.
FORGOTTEN = "（个人信息已按要求删除 personal data removed on request）"
#: Administrative division codes: county 6 digits, town 9, community (village) 12.
_SCOPE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'planner', 'viewer')),
    scope         TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    session_epoch INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    key           TEXT    PRIMARY KEY,
    failures      INTEGER NOT NULL,
    last_at       REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT    NOT NULL,
    user_name     TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    object        TEXT    NOT NULL DEFAULT '',
    detail        TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS plan_areas (
    plan_id       INTEGER PRIMARY KEY,
    scope         TEXT    NOT NULL
)
"""


class UnknownUserError(GeoError):
    """No such user (HTTP 404)."""


class LoginThrottledError(GeoError):
    """Too many failed logins for this account or address: wait ``retry_after_s`` (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def check_name(name: object) -> str:
    """A user name: 1-64 letters, digits, ``_ . - @`` (Chinese letters too)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputDataError("用户名应为 1-64 个字母、数字或 _ . - @ (user name: 1-64 letters, digits, _ . - @)")
    return name


def check_password(password: object) -> str:
    """A new password: 10-200 characters."""
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InputDataError(
            f"密码应为 {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} 个字符 "
            f"(password: {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters)"
        )
    if "\x00" in password:
        raise InputDataError("密码含有 NUL 字符 (password contains a NUL character)")
    return password


def check_scope(role: object, scope: object) -> tuple[str, str]:
    """``(role, scope)`` checked: a planner needs a 6/9/12-digit area code; others have none."""
    if role not in ROLES:
        raise InputDataError(f"角色 role={str(role)[:20]!r} 无效，可选: {', '.join(ROLES)} (unknown role)")
    scope = "" if scope is None else scope
    if not isinstance(scope, str):
        raise InputDataError("范围 scope 应为文字 (scope must be a string)")
    if role == "planner" and not _SCOPE.match(scope):
        raise InputDataError(
            "规划员需要所辖区域代码 scope：县 6 位、乡镇 9 位或社区 12 位数字 "
            "(a planner needs an area code: 6 digits county, 9 town, 12 community)"
        )
    if role != "planner" and scope:
        raise InputDataError("只有规划员有区域范围 (only planners have a scope)")
    return str(role), scope


def in_scope(user_scope: str, area: str | None) -> bool:
    """An area code lies within a planner's scope (the county's code prefixes its towns')."""
    return bool(user_scope) and area is not None and area.startswith(user_scope)


def _text(value: str) -> str:
    """Text as both databases keep it: NUL (refused by PostgreSQL) written as U+FFFD."""
    return value.replace("\x00", "\ufffd")


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class BaseUserStore(abc.ABC):
    """Users, login failures, plan areas and the audit log: every rule written once (thread-safe).

    A backend gives a write transaction (:meth:`_tx`), a read connection (:meth:`_read`), its
    placeholder style (:meth:`_q`) and the error a duplicate key raises (:attr:`_DUPLICATE`);
    SQL is written with ``?`` placeholders.  ``clock`` gives the time in seconds for the login
    throttle (tests pass their own).
    """

    #: The exception a UNIQUE violation raises in this backend.
    _DUPLICATE: type[Exception] | tuple[type[Exception], ...] = ()
    #: Where the store is, for messages (a file name, or ``host:port/db``).
    location: str = ""
    clock: Callable[[], float]

    @abc.abstractmethod
    def _tx(self) -> AbstractContextManager[Any]:
        """One write transaction."""

    @abc.abstractmethod
    def _read(self) -> AbstractContextManager[Any]:
        """A connection to read with."""

    def _q(self, sql: str) -> str:
        return sql

    def _one(self, sql: str, params: tuple = ()) -> Any:
        with self._read() as con:
            return con.execute(self._q(sql), params).fetchone()

    def _all(self, sql: str, params: tuple = ()) -> list:
        with self._read() as con:
            return con.execute(self._q(sql), params).fetchall()

    def _run(self, con: Any, sql: str, params: tuple = ()) -> Any:
        return con.execute(self._q(sql), params)

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connections (a later call opens new ones)."""

    # ---------------------------------------------------------------- users

    def add(self, name: str, password: str, role: str, scope: str = "") -> dict:
        """A new user; :class:`InputDataError` when the name is taken or a field is invalid."""
        name, password = check_name(name), check_password(password)
        role, scope = check_scope(role, scope)
        digest = generate_password_hash(password, method="scrypt")
        try:
            with self._tx() as con:
                self._run(
                    con,
                    "INSERT INTO users (name, password_hash, role, scope, created_at) VALUES (?, ?, ?, ?, ?)",
                    (name, digest, role, scope, _now_iso()),
                )
        except self._DUPLICATE as exc:
            raise InputDataError(f"用户名 {name} 已存在 (user name taken)") from exc
        return self.get(name)

    def get(self, name: str) -> dict:
        """One user (without the password hash); :class:`UnknownUserError` when there is none."""
        row = self._one("SELECT * FROM users WHERE name = ?", (name,)) if _NAME.match(str(name)) else None
        if row is None:
            raise UnknownUserError(f"没有用户 {str(name)[:64]} (no such user)")
        return _public(row)

    def by_id(self, user_id: int) -> dict | None:
        """A user by id, or None."""
        row = self._one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else _public(row)

    def list_users(self) -> list[dict]:
        """Every user, by name."""
        return [_public(r) for r in self._all("SELECT * FROM users ORDER BY name")]

    def has_admin(self) -> bool:
        """At least one enabled administrator exists."""
        sql = "SELECT 1 FROM users WHERE role = 'admin' AND disabled = 0"
        return self._one(sql) is not None

    def has_users(self) -> bool:
        """At least one enabled user exists."""
        return self._one("SELECT 1 FROM users WHERE disabled = 0") is not None

    def update(self, name: str, *, role: str | None = None, scope: str | None = None, disabled=None) -> dict:
        """Change a user's role and scope or disable/enable them; any change ends their sessions."""
        user = self.get(name)
        role, scope = check_scope(role or user["role"], user["scope"] if scope is None and role is None else scope)
        off = user["disabled"] if disabled is None else bool(disabled)
        with self._tx() as con:
            self._run(
                con,
                "UPDATE users SET role = ?, scope = ?, disabled = ?, session_epoch = session_epoch + 1 WHERE name = ?",
                (role, scope, int(off), name),
            )
        return self.get(name)

    def set_password(self, name: str, password: str) -> dict:
        """A new password; every session of the user ends."""
        digest = generate_password_hash(check_password(password), method="scrypt")
        self.get(name)
        with self._tx() as con:
            self._run(
                con,
                "UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 WHERE name = ?",
                (digest, name),
            )
        return self.get(name)

    def end_sessions(self, name: str) -> None:
        """Logout everywhere: every session issued so far stops being valid."""
        with self._tx() as con:
            self._run(con, "UPDATE users SET session_epoch = session_epoch + 1 WHERE name = ?", (name,))

    # ---------------------------------------------------------------- login

    def _wait_s(self, con: Any, key: str, now: float) -> float:
        row = self._run(con, "SELECT failures, last_at FROM login_failures WHERE key = ?", (key,)).fetchone()
        if row is None or row["failures"] < FREE_FAILURES:
            return 0.0
        wait = min(FIRST_WAIT_S * 2 ** (row["failures"] - FREE_FAILURES), MAX_WAIT_S)
        return max(0.0, row["last_at"] + wait - now)

    def authenticate(self, name: str, password: str, ip: str) -> dict | None:
        """The user if ``password`` is theirs (and they are enabled), else None.

        Raises
        ------
        LoginThrottledError
            Five failures or more for this account or this address: the next try must wait
            30 s, then 60 s, 120 s ... (at most an hour); the password is not even checked.
        """
        name = _text(name)  # PostgreSQL refuses NUL in text; such a name is no user's anyway
        keys = (f"user:{name}", f"ip:{_text(ip)}")
        now = self.clock()
        with self._tx() as con:
            wait = max(self._wait_s(con, key, now) for key in keys)
        if wait > 0:
            raise LoginThrottledError(
                f"登录失败次数过多，请 {int(wait) + 1} 秒后再试 (too many failed logins; retry in {int(wait) + 1} s)",
                retry_after_s=int(wait) + 1,
            )
        row = self._one("SELECT * FROM users WHERE name = ?", (name,))
        # Always hash once, so an unknown name takes as long as a wrong password.
        digest = row["password_hash"] if row is not None else _DUMMY_HASH
        ok = check_password_hash(digest, password) and row is not None and not row["disabled"]
        with self._tx() as con:
            if ok:
                self._run(con, "DELETE FROM login_failures WHERE key IN (?, ?)", keys)
            else:
                for key in keys:
                    self._run(
                        con,
                        "INSERT INTO login_failures (key, failures, last_at) VALUES (?, 1, ?) "
                        "ON CONFLICT(key) DO UPDATE SET failures = login_failures.failures + 1, "
                        "last_at = excluded.last_at",
                        (key, now),
                    )
        return _public(row) if ok and row is not None else None

    # ---------------------------------------------------------------- plan areas

    def set_plan_area(self, plan_id: int, scope: str) -> None:
        """Record the area code a plan belongs to."""
        with self._tx() as con:
            self._run(
                con,
                "INSERT INTO plan_areas (plan_id, scope) VALUES (?, ?) "
                "ON CONFLICT (plan_id) DO UPDATE SET scope = excluded.scope",
                (plan_id, scope),
            )

    def plan_area(self, plan_id: int) -> str | None:
        """The area code a plan belongs to (None: made before accounts, or by the single user)."""
        row = self._one("SELECT scope FROM plan_areas WHERE plan_id = ?", (plan_id,))
        return None if row is None else row["scope"]

    # ---------------------------------------------------------------- audit

    def record(self, user: str, action: str, obj: str = "", detail: str = "", ip: str = "") -> None:
        """One line of the audit log."""
        with self._tx() as con:
            self._run(
                con,
                "INSERT INTO audit (at, user_name, action, object, detail, ip) VALUES (?, ?, ?, ?, ?, ?)",
                (_now_iso(), _text(user), _text(action), _text(obj), _text(detail[:500]), _text(ip)),
            )

    def audit(self, *, limit: int | None = None) -> list[dict]:
        """The audit log, newest first."""
        sql = "SELECT id, at, user_name, action, object, detail, ip FROM audit ORDER BY id DESC"
        rows = self._all(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
        return [dict(r) for r in rows]

    def forget_in_audit(self, person: Person, *, dry_run: bool = False) -> int:
        """Take a person out of the audit log: an entry whose object or detail is about them
        (:func:`geo.io.forget.mentions`) keeps its time, user and action, the text becomes
        :data:`FORGOTTEN`.  Returns the entries changed (none with ``dry_run``)."""
        changed = 0
        with self._tx() as con:
            rows = self._run(con, "SELECT id, object, detail FROM audit").fetchall()
            for row in rows:
                obj, detail = row["object"], row["detail"]
                new_obj = FORGOTTEN if mentions(obj, person) else obj
                new_detail = FORGOTTEN if mentions(detail, person) else detail
                if (new_obj, new_detail) == (obj, detail):
                    continue
                changed += 1
                if not dry_run:
                    self._run(
                        con, "UPDATE audit SET object = ?, detail = ? WHERE id = ?", (new_obj, new_detail, row["id"])
                    )
        if changed and not dry_run:
            self.purge_old_versions()
        return changed

    @abc.abstractmethod
    def purge_old_versions(self) -> None:
        """Let the database drop the old copies of changed rows (after a person is removed)."""


class UserStore(BaseUserStore):
    """The users in one SQLite file (``users.sqlite3`` in the instance folder)."""

    _DUPLICATE = sqlite3.IntegrityError

    def __init__(self, path: str | os.PathLike, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.location = self.path.name
        self.clock = clock
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # WAL: an audited change (every plan and grid edit) commits with one sync, not three;
        # a folder that refuses it (a network share) keeps the rollback journal.
        self._conn().execute("PRAGMA journal_mode=WAL")
        with self._tx() as con:
            for statement in _SCHEMA.split(";"):
                con.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA busy_timeout=10000")
            self._local.con = con
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = self._conn()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        yield self._conn()

    def purge_old_versions(self) -> None:
        """Rewrite the file (``VACUUM``) and empty the WAL: no free or old page keeps a removed value."""
        self._conn().execute("VACUUM")
        self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


_DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")


def _public(row: Any) -> dict:
    user = dict(row)
    user.pop("password_hash", None)
    user["disabled"] = bool(user["disabled"])
    return user
