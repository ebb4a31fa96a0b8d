"""Long jobs (placement of new centers) run in the background, with a status a page can poll.

A job is a row in a small SQLite table in the instance folder: ``queued`` ->
``running`` -> ``done`` (with its JSON result) or ``failed`` (with a Chinese message), or
``cancelled`` (no result) when the planner cancels it.
While it runs, a job reports its stage (``message``, Chinese with English in parentheses)
and ``progress`` (0-1) through the ``progress`` callback its runner is given.
:meth:`JobQueue.cancel` stops a queued job before it starts and a running one at its next
progress report: the callback raises :class:`JobCancelled`, which the queue records.
Jobs run one at a time on a worker thread of the server process.  When the server
starts, a job left ``queued`` or ``running`` by a process that died or was restarted
is marked ``failed`` — "服务器重启，任务中断" — so a page polling it gets an answer, never
an endless wait (docs/bad-inputs.md F4).  The page also gives up polling after
``JOB_POLL_LIMIT_S`` and says so.

The queue is bounded (issue 19): at most :data:`MAX_JOBS_PER_OWNER` queued or running jobs of one
session, :data:`MAX_JOBS_PER_ADDRESS` of one address and :data:`MAX_JOBS_TOTAL` in all (beyond:
:class:`QueueFullError`, HTTP 429 with ``Retry-After``); finished jobs are deleted
:data:`JOB_KEEP_H` hours after they end.  A stopping server (:meth:`JobQueue.shutdown`) marks its
queued jobs failed and stops the running one at its next report: it exits without working through
a flood.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from geo.errors import GeoError, InputDataError
from webapp.plans import StoreFullError, StoreUnavailableError

logger = logging.getLogger(__name__)

__all__ = [
    "CANCELLED_ZH",
    "INTERRUPTED_ZH",
    "JobCancelled",
    "JobForbiddenError",
    "JobQueue",
    "Progress",
    "QueueFullError",
]

#: What a runner reports while it works: the stage (Chinese) and the share done (0-1).
Progress = Callable[[str, float], None]

INTERRUPTED_ZH = "服务器重启，任务中断，请重新提交 (interrupted by a server restart; submit it again)"
CANCELLED_ZH = "任务已取消 (the job was cancelled)"
STOPPED_ZH = "服务器停止，任务未运行，请重新提交 (the server stopped before the job ran; submit it again)"
#: Queued or running jobs of one session, and of everyone; hours a finished job is kept.
MAX_JOBS_PER_OWNER = 2
MAX_JOBS_TOTAL = 10
#: Queued or running jobs from one client address, whatever its sessions (``owner`` is
#: ``"<address>|<session>"``); an office behind one proxy address shares them.
MAX_JOBS_PER_ADDRESS = 4
#: Jobs one address may submit in :data:`JOB_RATE_WINDOW_S` seconds, finished or not: a flood of
#: quick jobs would otherwise keep the job worker (and a core) busy for everyone.
MAX_JOBS_PER_ADDRESS_WINDOW = 12
JOB_RATE_WINDOW_S = 600
JOB_KEEP_H = 24.0
#: Seconds a refused submitter is told to wait.
QUEUE_RETRY_AFTER_S = 30
#: A job's states; the last three are final.
STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    message     TEXT NOT NULL DEFAULT '',
    progress    REAL NOT NULL DEFAULT 0,
    owner       TEXT NOT NULL DEFAULT '',
    user_name   TEXT NOT NULL DEFAULT '',
    result      TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
"""
COLUMNS = (
    "id",
    "kind",
    "params",
    "status",
    "message",
    "progress",
    "owner",
    "user_name",
    "result",
    "created_at",
    "updated_at",
)


class QueueFullError(GeoError):
    """Too many jobs queued or running (HTTP 429 with ``Retry-After``)."""

    retry_after_s = QUEUE_RETRY_AFTER_S


class JobForbiddenError(GeoError):
    """Another user's (or, without accounts, another session's) job: only its owner or an administrator (HTTP 403)."""


class JobCancelled(Exception):  # a signal to the queue, not an error
    """Raised by a job's progress callback once the job has been cancelled."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


#: Niceness of the job thread: background work (placement) yields the cores to the planners'
#: requests while they wait, and has them all when nobody asks (Linux: per thread).
JOB_NICENESS = 10


def _lower_priority() -> None:
    """Run the calling thread (the job worker) at :data:`JOB_NICENESS`, where the system allows it."""
    if not hasattr(os, "setpriority"):  # Windows
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)
    except OSError:  # pragma: no cover - a container that forbids it: the job runs at normal priority
        logger.info("job thread priority unchanged")


class JobQueue:
    """Background jobs of one server process, recorded in ``path`` (SQLite)."""

    def __init__(self, path: Path, runners: dict[str, Callable[[dict, Progress], dict]]) -> None:
        self.path = Path(path)
        self.runners = runners
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-job", initializer=_lower_priority)
        #: Running jobs asked to stop: their next progress report raises JobCancelled.
        self._cancelling: set[int] = set()
        #: Jobs whose end the store could not record (full disk): what :meth:`get` answers for them.
        self._unrecorded: dict[int, dict] = {}
        self._stopping = False
        self.max_per_owner, self.max_total, self.keep_h = MAX_JOBS_PER_OWNER, MAX_JOBS_TOTAL, JOB_KEEP_H
        self.max_per_address = MAX_JOBS_PER_ADDRESS
        self.max_per_address_window = MAX_JOBS_PER_ADDRESS_WINDOW
        with self._db() as con:
            con.executescript(SCHEMA)
            _migrate(con)
            interrupted = con.execute(
                "UPDATE jobs SET status = 'failed', message = ?, updated_at = ? WHERE status IN ('queued', 'running')",
                (INTERRUPTED_ZH, _now()),
            ).rowcount
        if interrupted:
            logger.warning("%d job(s) interrupted by the last shutdown marked failed", interrupted)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10.0)
        con.row_factory = sqlite3.Row
        return con

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the job store; a full disk is :class:`StoreFullError` (HTTP 507), not a 500."""
        con = self._connect()
        try:
            with con:
                yield con
        except sqlite3.OperationalError as exc:
            if "full" in str(exc).lower():
                raise StoreFullError(
                    "磁盘已满，任务未能记录（未开始）；请清理磁盘后重试 (disk full: the job could not be recorded)"
                ) from exc
            raise StoreUnavailableError(
                f"任务记录库无法写入 (the job store could not be written: {type(exc).__name__})"
            ) from exc
        finally:
            con.close()

    def _set(self, job_id: int, **fields) -> None:
        sets = ", ".join(f"{key} = ?" for key in fields)
        with self._lock, self._db() as con:
            con.execute(f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ?", (*fields.values(), _now(), job_id))

    def submit(self, kind: str, params: dict, *, owner: str = "", user: str = "") -> dict:
        """Queue a job for ``owner`` (``"<address>|<session>"``) and ``user`` (the account's name, "" without
        login); returns its record (``id``, ``status`` ...).

        Raises :class:`QueueFullError` when the owner has :data:`MAX_JOBS_PER_OWNER` jobs queued or
        running, its address :data:`MAX_JOBS_PER_ADDRESS`, or everyone :data:`MAX_JOBS_TOTAL`, or
        the server is stopping.
        """
        if kind not in self.runners:
            raise InputDataError(f"未知任务类型 {kind!r}，可选: {', '.join(self.runners)} (unknown job kind)")
        if self._stopping:
            raise QueueFullError("服务器正在停止，请稍后重试 (the server is stopping; retry later)")
        with self._lock, self._db() as con:
            now = _now()
            expired = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=self.keep_h)).isoformat(timespec="seconds")
            final = "status IN ('done', 'failed', 'cancelled')"
            con.execute(f"DELETE FROM jobs WHERE {final} AND updated_at < ?", (expired,))
            active = "status IN ('queued', 'running')"
            (mine,) = con.execute(f"SELECT count(*) FROM jobs WHERE {active} AND owner = ?", (owner,)).fetchone()
            address = owner.partition("|")[0] + "|"  # a new session is free: one address is capped too
            (near,) = con.execute(
                f"SELECT count(*) FROM jobs WHERE {active} AND substr(owner, 1, length(?)) = ?", (address, address)
            ).fetchone()
            (total,) = con.execute(f"SELECT count(*) FROM jobs WHERE {active}").fetchone()
            if mine >= self.max_per_owner:
                raise QueueFullError(
                    f"您已有 {mine} 个任务在排队或运行（上限 {self.max_per_owner}），请等它们完成或取消后再提交 "
                    f"(you have {mine} jobs queued or running, at most {self.max_per_owner}; wait or cancel one)"
                )
            since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=JOB_RATE_WINDOW_S)).isoformat(timespec="seconds")
            (recent,) = con.execute(
                "SELECT count(*) FROM jobs WHERE created_at >= ? AND substr(owner, 1, length(?)) = ?",
                (since, address, address),
            ).fetchone()
            if "|" in owner and recent >= self.max_per_address_window:
                raise QueueFullError(
                    f"来自您的地址的任务过于频繁（{JOB_RATE_WINDOW_S // 60} 分钟内 {recent} 个），请稍后再提交 "
                    f"(too many jobs from your address: {recent} in {JOB_RATE_WINDOW_S // 60} minutes; retry later)"
                )
            if "|" in owner and near >= self.max_per_address:
                raise QueueFullError(
                    f"来自您的地址已有 {near} 个任务在排队或运行（上限 {self.max_per_address}），请稍后再提交 "
                    f"(your address has {near} jobs queued or running, at most {self.max_per_address}; retry later)"
                )
            if total >= self.max_total:
                raise QueueFullError(
                    f"服务器任务队列已满（{total} 个），请稍后重试 (the job queue is full: {total} jobs; retry later)"
                )
            job_id = con.execute(
                "INSERT INTO jobs (kind, params, status, owner, user_name, created_at, updated_at) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (kind, json.dumps(params, ensure_ascii=False), owner, user, now, now),
            ).lastrowid
        self._pool.submit(self._run, job_id, kind, params)
        return self.get(job_id)

    def _run(self, job_id: int, kind: str, params: dict) -> None:
        with self._lock, self._db() as con:  # a job cancelled while queued never starts
            started = con.execute(
                "UPDATE jobs SET status = 'running', updated_at = ? WHERE id = ? AND status = 'queued'",
                (_now(), job_id),
            ).rowcount
        if not started:
            return

        def progress(stage_zh: str, fraction: float) -> None:
            if job_id in self._cancelling:
                raise JobCancelled(job_id)
            try:
                self._set(job_id, message=stage_zh, progress=min(max(float(fraction), 0.0), 1.0))
            except (StoreFullError, StoreUnavailableError) as exc:  # a progress report is not worth the job
                logger.warning("job %d: progress not recorded: %s", job_id, exc)

        try:
            result = self.runners[kind](params, progress)
        except JobCancelled:
            self._finish(job_id, status="cancelled", message=CANCELLED_ZH, result=None)
            logger.info("job %d (%s) cancelled while running", job_id, kind)
        except GeoError as exc:
            self._finish(job_id, status="failed", message=str(exc))
        except Exception:  # noqa: BLE001 — a job must end in a state the page can show; logged in full
            logger.error("job %d (%s) failed:\n%s", job_id, kind, traceback.format_exc())
            self._finish(job_id, status="failed", message="任务出错，已记录 (the job failed; it has been logged)")
        else:
            self._finish(job_id, status="done", message="", progress=1.0, result=json.dumps(result, ensure_ascii=False))
        finally:
            self._cancelling.discard(job_id)

    def _finish(self, job_id: int, **fields) -> None:
        """Record how a job ended; when the store cannot (a full disk) the page still learns it failed."""
        try:
            self._set(job_id, **fields)
        except (StoreFullError, StoreUnavailableError) as exc:
            logger.warning("job %d: its end could not be recorded: %s", job_id, exc)
            self._unrecorded[job_id] = {"status": "failed", "message": str(exc), "result": None}

    def cancel(self, job_id: int) -> dict:
        """Cancel a job: a queued one never starts, a running one stops at its next progress report.

        Returns the job's record: ``cancelled`` at once for a queued job; still ``running`` for a
        running one (``cancelled`` after its next report); a job already done, failed or
        cancelled is left as it is.  :class:`webapp.plans.NotFoundError` when there is no such job.
        """
        job = self.get(job_id)
        # Under the lock the worker takes to start a job: it is queued or running, not between.
        with self._lock, self._db() as con:
            stopped = con.execute(
                "UPDATE jobs SET status = 'cancelled', message = ?, updated_at = ? WHERE id = ? AND status = 'queued'",
                (CANCELLED_ZH, _now(), job["id"]),
            ).rowcount
            (status,) = con.execute("SELECT status FROM jobs WHERE id = ?", (job["id"],)).fetchone()
            if status == "running":
                self._cancelling.add(job["id"])
        if stopped:
            logger.info("job %d (%s) cancelled before it started", job["id"], job["kind"])
        return self.get(job_id)

    def check_access(self, job_id: int, *, user: str, owner: str, admin: bool) -> None:
        """May this asker see or cancel the job?  Its user (the same account, any session), the
        session that submitted it, or an administrator; else :class:`JobForbiddenError`.
        :class:`webapp.plans.NotFoundError` when there is no such job."""
        from webapp.plans import NotFoundError

        with self._db() as con:
            row = con.execute("SELECT owner, user_name FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"没有编号为 {job_id} 的任务 (no such job)")
        if admin or (row["user_name"] and row["user_name"] == user) or (row["owner"] and row["owner"] == owner):
            return
        raise JobForbiddenError(
            f"任务 #{int(job_id)} 不是您提交的：只有提交者或管理员可以查看或取消它 "
            "(this job is someone else's: only its owner or an administrator may see or cancel it)"
        )

    def get(self, job_id: int) -> dict:
        """A job's record; :class:`webapp.plans.NotFoundError` when there is none."""
        from webapp.plans import NotFoundError

        with self._db() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"没有编号为 {job_id} 的任务 (no such job)")
        job = dict(row) | self._unrecorded.get(int(job_id), {})
        job.pop("owner", None)  # who asked stays on the server
        job.pop("user_name", None)
        job["params"] = json.loads(job["params"])
        job["result"] = json.loads(job["result"]) if job["result"] else None
        return job

    def wait(self, job_id: int, timeout_s: float = 60.0) -> dict:
        """Poll until the job is done, failed or cancelled (for tests and scripts)."""
        import time

        deadline = time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if job["status"] in FINAL or time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def shutdown(self) -> None:
        """Stop: no new jobs, the queued ones marked failed (never run), the running one cancelled
        at its next progress report.  Returns at once; the process does not drain the queue."""
        self._stopping = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock, self._db() as con:
            dropped = con.execute(
                "UPDATE jobs SET status = 'failed', message = ?, updated_at = ? WHERE status = 'queued'",
                (STOPPED_ZH, _now()),
            ).rowcount
            running = [row[0] for row in con.execute("SELECT id FROM jobs WHERE status = 'running'")]
            self._cancelling.update(running)
        if dropped or running:
            logger.warning("stopping: %d queued job(s) dropped, %d running job(s) cancelled", dropped, len(running))


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a jobs table of an earlier version to :data:`SCHEMA`.

    Earlier tables lack the ``progress`` column, or check ``status`` against the four states
    before ``cancelled``: SQLite cannot change a CHECK constraint in place, so such a table is
    copied into a new one of the current schema (jobs and ids kept) in one transaction.
    """
    (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
    columns = [row["name"] for row in con.execute("PRAGMA table_info(jobs)")]
    if "'cancelled'" in sql and "progress" in columns:
        if "owner" not in columns:  # tables before issue 19: jobs had no owner
            con.execute("ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
        if "user_name" not in columns:  # tables before jobs were scoped to their user
            con.execute("ALTER TABLE jobs ADD COLUMN user_name TEXT NOT NULL DEFAULT ''")
        return
    kept = ", ".join(c for c in COLUMNS if c in columns)
    con.execute("BEGIN IMMEDIATE")
    try:
        con.execute("ALTER TABLE jobs RENAME TO jobs_before_migration")
        con.execute(SCHEMA.replace("IF NOT EXISTS ", ""))  # execute, not executescript: that would commit
        con.execute(f"INSERT INTO jobs ({kept}) SELECT {kept} FROM jobs_before_migration")
        con.execute("DROP TABLE jobs_before_migration")
    except Exception:
        con.rollback()
        raise
    con.commit()
    logger.info("jobs table migrated to the current schema (status 'cancelled', progress)")
