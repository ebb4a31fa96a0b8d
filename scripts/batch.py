"""Province-wide batches: coverage, service areas or standard checks of many areas on Dask.

    python -m scripts.batch coverage --project a.toml b.toml ... --out out/batch \
        [--workers 2] [--scheduler tcp://host:8786] [--retries 1] [--no-maps] [--crs cgcs2000_gk]
    python -m scripts.batch standard --all-counties --out out/counties

Every study area is one independent task on ``dask.distributed``: a local cluster of
``--workers`` single-threaded worker processes by default, or an existing cluster with
``--scheduler ADDRESS``.  A task receives the project file's path and the options,
never a network: the worker loads the project and its walk network from the network
cache on its own disk (``.cache/networks``, built there on the first run), runs the
analysis and writes the area's files into ``--out/<area>/``.  ``--workers 1``
without ``--scheduler`` runs the same task function in a plain loop, the sequential
reference the Dask run equals.

An area that fails (bad data, no network offline, a worker that died) is retried
``--retries`` times, then listed in ``batch_summary.csv`` with its Chinese message;
the other areas' results are written.  ``--crs`` is the coordinate system of the areas'
GeoPackages (default WGS84; a Gauss-Kruger zone is each area's own).  Files written into ``--out``:

* ``<area>/...`` — the area's outputs (``coverage.xlsx/csv/gpkg`` and maps, or
  ``service_areas.gpkg``, or ``standard_check.csv``);
* ``<kind>_summary.csv`` — the summary rows of every area done (UTF-8 with BOM);
* ``batch_summary.csv`` — one row per area: status, error, seconds, worker, peak memory.

With an existing cluster the workers must see the project files and ``--out`` at
the same paths (a shared or synced folder) and have this repository importable.
Exit status: 0 all areas done, 1 some areas failed (the others written), 2 bad arguments.

:func:`split_nearest_facilities` splits one very large area's demand points over the
workers for the nearest-facility step, with the same result as one process.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import logging
import math
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from geo import settings
from geo.errors import InputDataError
from geo.io.boundaries import load_boundaries
from geo.io.export import write_csv
from geo.network.routing import NearestFacilities
from geo.project import project_path
from scripts.batch_tasks import (
    KINDS,
    AreaOptions,
    AreaResult,
    area_task,
    demand_size,
    error_zh,
    nearest_chunk,
    peak_rss_mb,
)
from scripts.cli import add_crs, interrupted, staged_folder

logger = logging.getLogger("scripts.batch")

__all__ = ["AreaOutcome", "BatchReport", "build_parser", "main", "run_batch", "split_nearest_facilities"]

#: Seconds between progress refreshes while areas run.
PROGRESS_POLL_S = 0.5
STATUS_ZH = {"done": "完成", "failed": "失败"}


class AreaOutcome:
    """One area of a batch after its last attempt."""

    __slots__ = ("error", "out", "project", "result")

    def __init__(self, project: str, out: Path, result: AreaResult | None, error: str | None) -> None:
        self.project = project
        self.out = out
        self.result = result
        self.error = error

    @property
    def ok(self) -> bool:
        return self.result is not None


class BatchReport:
    """Every area's outcome, in the order the areas were given."""

    def __init__(self, kind: str, outcomes: list[AreaOutcome], seconds: float, workers: int) -> None:
        self.kind = kind
        self.outcomes = outcomes
        self.seconds = seconds
        self.workers = workers

    @property
    def failed(self) -> list[AreaOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def table(self) -> pd.DataFrame:
        """The summary rows of all areas done, concatenated."""
        frames = [o.result.table for o in self.outcomes if o.ok]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def status(self) -> pd.DataFrame:
        """One row per area: project, name, status, error, seconds, worker, peak memory."""
        rows = []
        for o in self.outcomes:
            r = o.result
            rows.append(
                {
                    "project_file": o.project,
                    "name": r.name if r else "",
                    "status": "done" if r else "failed",
                    "status_zh": STATUS_ZH["done" if r else "failed"],
                    "error": o.error or "",
                    "seconds": round(r.seconds, 2) if r else np.nan,
                    "worker": r.worker if r else "",
                    "peak_rss_mb": round(r.peak_rss_mb, 1) if r else np.nan,
                    "out": str(o.out),
                }
            )
        return pd.DataFrame(rows)


# ------------------------------------------------------------------------- areas


def county_projects(folder: Path) -> list[Path]:
    """Write one online-network project per county of ``data/boundaries/`` into ``folder``.

    Each county's network, facilities and buildings are downloaded with osmnx on the
    worker; offline every area fails with :class:`~geo.errors.NetworkUnavailableError`.
    """
    frame = load_boundaries()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for _, row in frame[frame["level"] == "county"].iterrows():
        path = folder / f"{row['adcode']}.toml"
        path.write_text(
            f'name = "{row["name"]}"\nboundary = "county:{row["adcode"]}"\n'
            'network = "online"\nfacilities = "osm"\ndemand = "buildings"\nprofile = "walk"\n',
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def _area_folders(projects: Sequence[str], out: Path) -> list[Path]:
    """``out/<file stem>`` per project, made unique when two stems collide."""
    seen: dict[str, int] = {}
    folders = []
    for project in projects:
        stem = Path(project).stem
        seen[stem] = seen.get(stem, 0) + 1
        folders.append(out / (stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"))
    return folders


# ------------------------------------------------------------------------ running


def _sequential(
    task: Callable[[str, str], Any], projects: list[str], folders: list[Path], retries: int, bar: tqdm
) -> list[AreaOutcome]:
    outcomes = []
    failed = 0
    for project, out in zip(projects, folders, strict=True):
        result, error = None, None
        for _attempt in range(retries + 1):
            bar.set_postfix_str(f"完成 {len(outcomes) - failed} / 失败 {failed} / 运行 1")
            try:
                result, error = task(project, str(out)), None
                break
            except Exception as exc:  # noqa: BLE001 - any area failure is reported, the batch goes on
                error = error_zh(exc)
                logger.info("area %s failed: %s", project, error)
        failed += result is None
        outcomes.append(AreaOutcome(project, out, result, error))
        bar.update()
    bar.set_postfix_str(f"完成 {len(outcomes) - failed} / 失败 {failed} / 运行 0")
    return outcomes


def _dashboard(client) -> str:
    """The dashboard address, or why there is none."""
    # Without bokeh the scheduler still serves HTTP (health, metrics) but no dashboard pages.
    if importlib.util.find_spec("bokeh") is None:
        return "Dask 仪表盘不可用: 未安装 bokeh (dashboard unavailable: pip install 'bokeh>=3.1')"
    if "dashboard" in client.scheduler_info().get("services", {}):
        return f"Dask 仪表盘 dashboard: {client.dashboard_link}"
    return "Dask 仪表盘不可用: 调度器未启动仪表盘 (the scheduler serves no dashboard)"


def _on_dask(
    client,
    task: Callable[[str, str], Any],
    name: str,
    projects: list[str],
    folders: list[Path],
    retries: int,
    bar: tqdm,
) -> list[AreaOutcome]:
    from distributed import wait

    # A run's own token in every key: a finished area of an earlier run on the same
    # client (same kind, position and name) is never taken for this run's area.
    run = uuid.uuid4().hex[:8]
    futures = [
        client.submit(task, p, str(o), key=f"{name}-{k}-{Path(p).stem}-{run}", retries=retries, pure=False)
        for k, (p, o) in enumerate(zip(projects, folders, strict=True))
    ]
    index = {f.key: k for k, f in enumerate(futures)}
    outcomes: list[AreaOutcome | None] = [None] * len(futures)
    pending = set(futures)
    failed = 0
    while pending:
        try:
            finished, pending = wait(pending, timeout=PROGRESS_POLL_S, return_when="FIRST_COMPLETED")
        except TimeoutError:  # nothing finished yet: refresh the running count
            finished = set()
        for future in finished:
            k = index[future.key]
            if future.status == "finished":
                outcomes[k] = AreaOutcome(projects[k], folders[k], future.result(), None)
            else:
                failed += 1
                outcomes[k] = AreaOutcome(projects[k], folders[k], None, error_zh(future.exception()))
            bar.update()
        keys = {f.key for f in pending}
        running = sum(len(keys.intersection(ks)) for ks in client.processing().values()) if pending else 0
        bar.set_postfix_str(f"完成 {bar.n - failed} / 失败 {failed} / 运行 {running}")
    return [o for o in outcomes if o is not None]


def local_cluster(workers: int):
    """A local cluster of ``workers`` single-threaded worker processes (dashboard if bokeh is there).

    The scheduler's HTTP port is any free one, so several batches can run side by side.
    """
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )


def run_tasks(
    task: Callable[[str, str], Any],
    projects: list[str],
    folders: list[Path],
    *,
    name: str,
    desc: str,
    workers: int = 1,
    scheduler: str | None = None,
    client=None,
    retries: int = 1,
    quiet: bool = True,
    say: Callable[[str], None] = lambda _text: None,
) -> tuple[list[AreaOutcome], int]:
    """Run ``task(project, out_folder)`` for every area: the one engine for many areas.

    A plain loop with one worker and no scheduler; otherwise Dask (a local cluster of
    ``workers`` processes, the ``scheduler`` at an address, or an existing ``client``).
    Every area is tried ``retries + 1`` times; a failure is recorded (in Chinese) and the
    others go on.  ``task`` must be picklable (a module-level function or a partial of one).

    Returns
    -------
    tuple
        The outcomes in the order of ``projects``, and the number of workers used.
    """

    def bar() -> tqdm:
        return tqdm(total=len(projects), disable=quiet, desc=desc, unit="区")

    if client is not None:
        with bar() as progress:
            return _on_dask(client, task, name, projects, folders, retries, progress), len(
                client.scheduler_info()["workers"]
            )
    if scheduler is None and workers == 1:
        with bar() as progress:
            return _sequential(task, projects, folders, retries, progress), 1
    from distributed import Client

    cluster = local_cluster(workers) if scheduler is None else None
    try:
        with Client(scheduler if cluster is None else cluster) as dask_client:
            say(_dashboard(dask_client))
            n_workers = len(dask_client.scheduler_info()["workers"])
            with bar() as progress:
                return _on_dask(dask_client, task, name, projects, folders, retries, progress), n_workers
    finally:
        if cluster is not None:
            cluster.close()


def run_batch(
    kind: str,
    projects: Sequence[str | Path],
    out: Path,
    *,
    options: AreaOptions | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    client=None,
    retries: int = 1,
    quiet: bool = True,
    say: Callable[[str], None] = lambda _text: None,
) -> BatchReport:
    """Run ``kind`` over many project files and write the batch summaries.

    Parameters
    ----------
    kind
        ``coverage``, ``service_areas`` or ``standard``.
    projects
        Project TOML files (or bundled names), one area each.
    out
        Output folder; each area writes into ``out/<file stem>``.
    options
        Options shared by every area.
    workers
        Local worker processes; 1 without ``scheduler``/``client`` runs a plain loop.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``).
    client
        An existing ``distributed.Client`` (tests, notebooks); wins over the others.
    retries
        Further attempts of a failing area.
    quiet
        No progress bar.
    say
        Where messages for the terminal go (dashboard address).

    Returns
    -------
    BatchReport

    Raises
    ------
    InputDataError
        Unknown kind, no project, fewer than one worker, negative retries.
    """
    if kind not in KINDS:
        raise InputDataError(f"未知的批处理类型 {kind!r}；可选: {', '.join(KINDS)} (unknown batch kind)")
    if not projects:
        raise InputDataError("没有项目 (no project given): --project 文件 或 --all-counties")
    if workers < 1:
        raise InputDataError(f"--workers 至少为 1, 当前 {workers} (at least one worker)")
    if retries < 0:
        raise InputDataError(f"--retries 不能为负, 当前 {retries} (retries must be >= 0)")
    options = options or AreaOptions()
    paths = [str(Path(p).resolve()) if Path(p).suffix.lower() == ".toml" else str(p) for p in projects]
    folders = [f.resolve() for f in _area_folders(paths, Path(out))]
    start = time.perf_counter()

    outcomes, n_workers = run_tasks(
        functools.partial(area_task, kind, options),
        paths,
        folders,
        name=kind,
        desc=f"{KINDS[kind]} {kind}",
        workers=workers,
        scheduler=scheduler,
        client=client,
        retries=retries,
        quiet=quiet,
        say=say,
    )
    report = BatchReport(kind, outcomes, time.perf_counter() - start, n_workers)
    table = report.table()
    if not table.empty:
        write_csv(table, Path(out) / f"{kind}_summary.csv")
    write_csv(report.status(), Path(out) / "batch_summary.csv")
    return report


# ------------------------------------------------------------ split one large area


def split_nearest_facilities(
    client,
    project: str | Path,
    *,
    by: str = "function",
    chunks: int | None = None,
    max_time_s: float = settings.ACCESS_SEARCH_MIN * 60.0,
) -> NearestFacilities:
    """Nearest-facility times of one large area, its demand points split over Dask workers.

    Each worker loads the project (its network from the local cache) once and routes
    slices of the demand points (:func:`scripts.batch_tasks.nearest_chunk`); only the
    project path and slice bounds are sent, only the time and facility arrays come
    back.  Equal to :func:`geo.network.routing.nearest_facilities` on all points in one process.

    Parameters
    ----------
    client
        A ``distributed.Client``.
    project
        The area's project file (or bundled name).
    by
        ``function`` (the six functions) or ``type`` (facility types of the standard).
    chunks
        Number of demand slices (default: two per worker thread).
    max_time_s
        Search budget in seconds.

    Returns
    -------
    NearestFacilities
        Facility indices refer to the project's facilities.

    Raises
    ------
    InputDataError
        Bad ``by`` or ``chunks``.
    """
    path = str(project_path(project))
    # A worker loads the project (and keeps it for its slices): the client stays light.
    n, groups = client.submit(demand_size, path, by=by, pure=False).result()
    threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    chunks = chunks or max(1, 2 * threads)
    if chunks < 1:
        raise InputDataError(f"chunks={chunks} 应至少为 1 (at least one slice)")
    bounds = np.linspace(0, n, min(chunks, max(n, 1)) + 1).round().astype(int)
    futures = [
        client.submit(nearest_chunk, path, int(a), int(b), by=by, max_time_s=max_time_s, pure=False)
        for a, b in itertools.pairwise(bounds)
    ]
    parts = client.gather(futures)
    time_s = np.concatenate([p[0] for p in parts]) if parts else np.full((0, len(groups)), np.inf)
    facility = np.concatenate([p[1] for p in parts]) if parts else np.full((0, len(groups)), -1, dtype=np.int64)
    return NearestFacilities(groups=groups, time_s=time_s, facility=facility, max_time_s=float(max_time_s))


# -------------------------------------------------------------------------- CLI


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是数字 (not a number): {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= settings.MAX_BUDGET_MIN):
        raise argparse.ArgumentTypeError(f"{text} 超出范围，应在 (0, {settings.MAX_BUDGET_MIN:g}] 分钟 (out of range)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.batch",
        description="多个研究区的批量分析，在 Dask 上并行 (many study areas as Dask tasks)",
    )
    parser.add_argument("kind", choices=sorted(KINDS), help="coverage | service_areas | standard")
    areas = parser.add_mutually_exclusive_group(required=True)
    areas.add_argument("--project", nargs="+", help="项目 .toml 文件 (one study area each)")
    areas.add_argument("--all-counties", action="store_true", help="every county of data/boundaries/ (online networks)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2; 1 = plain loop)")
    parser.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler, tcp://host:8786")
    parser.add_argument("--retries", type=int, default=1, help="further attempts of a failing area (default 1)")
    parser.add_argument("--minutes", type=_minutes, default=max(settings.DEFAULT_BUDGETS_MIN), help="function budget")
    parser.add_argument(
        "--service-minutes", type=_minutes, nargs="+", default=list(settings.DEFAULT_BUDGETS_MIN), help="service areas"
    )
    parser.add_argument("--level", default="15_minute", help="life-circle level checked: 15_minute|10_minute|5_minute")
    parser.add_argument("--no-maps", action="store_true", help="skip the coverage PNG maps")
    add_crs(parser)  # h-rural (issue 21): the areas' GeoPackages in CGCS2000 on request
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the batch; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.workers < 1:
        parser.error("--workers 至少为 1 (at least 1)")
    if args.retries < 0:
        parser.error("--retries 不能为负 (must be >= 0)")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out 应为文件夹 (output must be a folder): {args.out}")
    try:
        projects = (
            [str(p) for p in county_projects(args.out / "_projects")]
            if args.all_counties
            else [str(project_path(p)) for p in args.project]
        )
    except InputDataError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    options = AreaOptions(
        minutes=args.minutes,
        service_minutes=tuple(sorted(set(args.service_minutes))),
        maps=not args.no_maps,
        level=args.level,
        crs=args.crs,
    )
    if args.workers > 1 or args.scheduler:
        import distributed  # noqa: F401 - creates its loggers, quieted below

        for name in list(logging.root.manager.loggerDict):
            if name.startswith("distributed"):  # no start/stop chatter of the cluster
                logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with staged_folder(args.out) as stage:  # the areas' files reach --out when the batch ends, not before
            report = run_batch(
                args.kind,
                projects,
                stage,
                options=options,
                workers=args.workers,
                scheduler=args.scheduler,
                retries=args.retries,
                quiet=args.quiet,
                say=print,
            )
    except KeyboardInterrupt:
        return interrupted(args.out)
    done = len(report.outcomes) - len(report.failed)
    print(
        f"{KINDS[args.kind]}: {done} 个研究区完成, {len(report.failed)} 个失败, "
        f"{report.seconds:.1f} s, {report.workers} 个工作进程 (areas done / failed, workers)"
    )
    for outcome in report.failed:
        print(f"  失败 {Path(outcome.project).name}: {outcome.error}")
    if args.workers == 1 and args.scheduler is None:
        print(f"  本进程峰值内存 {peak_rss_mb():.0f} MiB (peak memory of this process)")
    else:
        peaks = report.status().groupby("worker")["peak_rss_mb"].max()
        for worker, peak in peaks.items():
            if worker:
                print(f"  工作进程 {worker}: 峰值内存 {peak:.0f} MiB (peak memory)")
    print(f"结果 results -> {args.out} (batch_summary.csv)")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
