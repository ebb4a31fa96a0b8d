"""One study area's work in a batch, as plain functions (no Dask here).

:mod:`scripts.batch` runs :func:`run_area` once per area, in a plain loop or as a
task on a ``dask.distributed`` worker; the function only receives the project
file's path and its options, loads the project (the walk network from the on-disk
cache of the machine it runs on, :func:`geo.network.graph.load_network`), runs one
analysis and writes the area's files.  Nothing large travels: the result is the
area's small summary table.

:func:`nearest_chunk` is the worker side of a split nearest-facility run
(:func:`scripts.batch.split_nearest_facilities`): one slice of an area's demand
points against all its facilities, the project loaded once per worker process.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import settings
from geo.access.coverage import ALL_UNITS
from geo.errors import GeoError, InputDataError
from geo.io.crs import WGS84
from geo.io.export import export_crs_for, write_csv
from geo.maps.qgis_layers import write_styled_gpkg
from geo.network.routing import nearest_facilities
from geo.network.snapping import Snapped, snap_points
from geo.project import Project
from geo.workflows import Analysis, check_standard, chinese_frame, function_service_areas, load_analysis
from geo.workflows.outputs import layers_in
from linli.config import cache_dir
from scripts.coverage import CHECK_HEADERS, Job, run_job

__all__ = [
    "KINDS",
    "AreaOptions",
    "AreaResult",
    "area_task",
    "chunk_groups",
    "demand_size",
    "error_zh",
    "nearest_chunk",
    "peak_rss_mb",
    "run_area",
]

#: Batch kinds and their Chinese names.
KINDS = {"coverage": "覆盖分析", "service_areas": "服务范围", "standard": "达标检查"}
#: Bytes in a MiB; ``ru_maxrss`` is in KiB on Linux and in bytes on macOS.
_MIB = 1024 * 1024


@dataclass(frozen=True)
class AreaOptions:
    """Options shared by every area of a batch (picklable, small).

    Attributes
    ----------
    minutes
        Budget of the six functions in minutes (coverage, standard check).
    service_minutes
        Budgets of the service areas in minutes.
    maps
        Write the coverage maps (PNG).
    level
        Life-circle level checked (``15_minute``, ``10_minute``, ``5_minute``).
    required_pct
        Share of residents within the radius for "pass" (percent).
    cell_m
        Gap-map cell size in metres.
    crs
        The coordinate system of the areas' GeoPackages (``--crs``: wgs84, cgcs2000,
        cgcs2000_gk, cgcs2000_gk_zone or an EPSG code); a zone is each area's own.
    """

    minutes: float = max(settings.DEFAULT_BUDGETS_MIN)
    service_minutes: tuple[float, ...] = tuple(settings.DEFAULT_BUDGETS_MIN)
    maps: bool = True
    level: str = "15_minute"
    required_pct: float = settings.STANDARD_REQUIRED_COVERAGE_PCT
    cell_m: float = settings.GAP_CELL_M
    crs: str = "wgs84"


@dataclass(frozen=True)
class AreaResult:
    """What one area's task sends back: its summary rows and how the run went."""

    project: str
    name: str
    table: pd.DataFrame = field(repr=False)
    seconds: float
    worker: str
    peak_rss_mb: float


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MIB if sys.platform == "darwin" else peak / 1024


def error_zh(exc: BaseException) -> str:
    """The planner-facing (Chinese) message of an area's failure."""
    if isinstance(exc, GeoError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "内存不足 (out of memory): 请减少每台机器的工作进程数"
    if type(exc).__name__ == "KilledWorker":
        return f"工作进程多次意外退出，可能内存不足 (worker died repeatedly, e.g. out of memory): {exc}"
    if isinstance(exc, OSError):
        return f"无法读写文件 (I/O error): {exc.strerror or exc} {exc.filename or ''}".strip()
    return f"内部错误 (internal error) {type(exc).__name__}: {exc}"


def _coverage(project: str, out: Path, options: AreaOptions) -> tuple[str, pd.DataFrame]:
    job = Job(
        project=project,
        out=out,
        minutes=options.minutes,
        single_budget=False,
        by="none",
        by_system="wgs84",
        level=options.level,
        required_pct=options.required_pct,
        elderly_share=None,
        children_share=None,
        cell_m=options.cell_m,
        maps=options.maps,
        quiet=True,
        crs=options.crs,
    )
    table = run_job(job)
    return str(table["project"].iloc[0]), table.reset_index(drop=True)


def _standard(project: str, out: Path, options: AreaOptions) -> tuple[str, pd.DataFrame]:
    analysis = load_analysis(project, minutes=options.minutes, cache_dir=cache_dir())
    check = check_standard(analysis, level=options.level, required_pct=options.required_pct)
    write_csv(
        check[[c for c in CHECK_HEADERS if c in check.columns]].rename(columns=CHECK_HEADERS),
        out / "standard_check.csv",
    )
    whole = check[check["unit"] == ALL_UNITS].copy()
    whole.insert(0, "project", analysis.project.name)
    whole.insert(1, "project_file", project)
    return analysis.project.name, whole.reset_index(drop=True)


def _service_areas(project: str, out: Path, options: AreaOptions) -> tuple[str, pd.DataFrame]:
    analysis = load_analysis(project, times=False, cache_dir=cache_dir())
    loaded = analysis.project
    frames, rows = [], []
    for fa in function_service_areas(analysis, options.service_minutes):
        zh = loaded.standard.function_label(fa.function)
        if fa.areas is None:
            for minutes in options.service_minutes:
                rows.append((fa.function, zh, minutes, fa.facilities, 0, 0.0))
            continue
        areas = fa.areas
        areas.insert(0, "function", fa.function)
        frames.append(areas)
        for minutes, area_m2 in zip(areas["minutes"], areas.geometry.area, strict=True):
            rows.append((fa.function, zh, float(minutes), fa.facilities, fa.snapped, area_m2 / 1e6))
    table = pd.DataFrame(rows, columns=["function", "name_zh", "minutes", "facilities", "snapped", "area_km2"])
    table.insert(0, "project", loaded.name)
    table.insert(1, "project_file", project)
    if frames:
        layer = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    else:
        layer = gpd.GeoDataFrame({"function": [], "minutes": []}, geometry=[], crs=WGS84)
    layers = {"service_areas": layer, "facilities": loaded.facilities}
    crs = export_crs_for(options.crs, layer, loaded.facilities)
    write_styled_gpkg(layers_in({k: chinese_frame(v) for k, v in layers.items()}), out / "service_areas.gpkg", crs=crs)
    return loaded.name, table


_RUNNERS = {"coverage": _coverage, "standard": _standard, "service_areas": _service_areas}


def run_area(kind: str, project: str, out: str | Path, options: AreaOptions) -> AreaResult:
    """Run one area of a batch and write its files into ``out``.

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    project
        Path of the area's project TOML file (or a bundled name); the project is
        loaded here, its network from the local on-disk cache when present.
    out
        The area's output folder.
    options
        Batch options.

    Returns
    -------
    AreaResult
        The area's summary rows (coverage: per function; standard: per checked
        item; service areas: per function and budget), wall seconds, the worker
        (host:pid) and the process's peak memory.

    Raises
    ------
    InputDataError
        Unknown ``kind``.
    GeoError, OSError
        Whatever the area's analysis raises (bad data, no network, disk full).
    """
    if kind not in _RUNNERS:
        raise InputDataError(f"未知的批处理类型 {kind!r}；可选: {', '.join(KINDS)} (unknown batch kind)")
    start = time.perf_counter()
    name, table = _RUNNERS[kind](str(project), Path(out), options)
    return AreaResult(
        project=str(project),
        name=name,
        table=table,
        seconds=time.perf_counter() - start,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        peak_rss_mb=peak_rss_mb(),
    )


def area_task(kind: str, options: AreaOptions, project: str, out: str) -> AreaResult:
    """:func:`run_area` with the batch's kind and options bound first (for the many-areas engine)."""
    return run_area(kind, project, out, options)


# ------------------------------------------------------------- split nearest facility


@lru_cache(maxsize=4)
def _loaded(project: str) -> tuple[Analysis, Snapped]:
    """The project, its routing graph and snapped facilities, once per process."""
    analysis = load_analysis(project, times=False, cache_dir=cache_dir())
    return analysis, snap_points(analysis.graph, analysis.project.facilities.geometry)


def chunk_groups(project: Project, by: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Facility labels and the groups computed for ``by`` (``function`` or ``type``)."""
    if by == "function":
        return project.facilities["function"].astype(str).to_numpy(object), tuple(project.standard.functions)
    if by == "type":
        labels = project.facilities["type"].fillna("").astype(str).to_numpy(object)
        return labels, tuple(sorted({t for t in labels if t}))
    raise InputDataError(f"by={by!r} 无效，可选: function, type (group facilities by function or type)")


def demand_size(project: str, *, by: str) -> tuple[int, tuple[str, ...]]:
    """Number of demand points of a project and the groups of ``by`` (loads it once per process)."""
    analysis, _ = _loaded(str(project))
    return len(analysis.project.demand), chunk_groups(analysis.project, by)[1]


def nearest_chunk(project: str, start: int, stop: int, *, by: str, max_time_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-facility times of demand points ``start:stop`` of a project.

    The demand slice is snapped here and routed with
    :func:`geo.network.routing.nearest_facilities` against every facility; each demand
    point's answer does not depend on the other points, so the slices concatenate
    to the single-process result.

    Returns
    -------
    tuple of numpy.ndarray
        ``time_s`` (float64, seconds) and ``facility`` (int64 index into the
        project's facilities), each (stop - start, n_groups).
    """
    analysis, facilities = _loaded(str(project))
    labels, groups = chunk_groups(analysis.project, by)
    demand = snap_points(analysis.graph, analysis.project.demand.geometry.iloc[start:stop])
    result = nearest_facilities(analysis.graph, demand, facilities, labels, groups=groups, max_time_s=max_time_s)
    return result.time_s, result.facility
