"""Command-line argument types shared by the scripts: numbers checked against their range.

A bad value exits with status 2 and says the valid range in Chinese and English
(docs/bad-inputs.md C1: ``--minutes 0``, ``-15``, ``NaN``, ``1e9``).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from geo import settings
from geo.errors import GeoError

__all__ = [
    "INTERRUPTED_EXIT",
    "MINUTES",
    "add_lang",
    "count",
    "fraction",
    "interrupted",
    "interruptible",
    "positive",
    "staged_folder",
]


def add_lang(parser: argparse.ArgumentParser) -> None:
    """``--lang zh|en``: Chinese headers and values (default), or the English keys with exact values."""
    parser.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="输出语言: zh 中文表头与取值 (默认); en 英文键与原值 (English keys and exact values)",
    )


def positive(upper: float, unit_zh: str) -> Callable[[str], float]:
    """A float in (0, ``upper``], e.g. ``positive(120, "分钟")``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"不是数字 (not a number): {text!r}") from None
        if not (math.isfinite(value) and 0 < value <= upper):
            raise argparse.ArgumentTypeError(
                f"{text} 超出范围，应在 (0, {upper:g}] {unit_zh} (must be in (0, {upper:g}])"
            )
        return value

    return parse


def count(lo: int, hi: int) -> Callable[[str], int]:
    """An integer in [``lo``, ``hi``]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"不是整数 (not an integer): {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} 超出范围，应在 [{lo}, {hi}] (must be in [{lo}, {hi}])")
        return value

    return parse


def fraction(text: str) -> float:
    """A share in [0, 1], e.g. 0.15 for 15 %."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是数字 (not a number): {text!r}") from None
    if not (0 <= value <= 1):
        raise argparse.ArgumentTypeError(f"{text} 应在 0 到 1 之间，例如 0.15 (a fraction)")
    return value


#: A walking-time budget in minutes, (0, MAX_BUDGET_MIN].
MINUTES = positive(settings.MAX_BUDGET_MIN, "分钟")

#: Exit status after Ctrl+C (128 + SIGINT, as the shell reports it).
INTERRUPTED_EXIT = 130


@contextmanager
def staged_folder(out: Path, *, scratch_in: Path | None = None) -> Iterator[Path]:
    """A scratch folder beside ``out`` to write a run's files into; they reach ``out`` only when all are written.

    On leaving the block normally each file is renamed into ``out`` (a quick rename on the
    same disk); on Ctrl+C or any error the scratch folder is removed and ``out`` keeps the
    previous run's files untouched, never a mixture of two runs.  ``scratch_in``: where the
    scratch folder goes (default beside ``out``; a run writing files into an existing
    folder keeps its scratch inside it).
    """
    out = Path(out)
    where = out.parent if scratch_in is None else Path(scratch_in)
    where.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name or 'out'}.partial-", dir=where))
    try:
        yield stage
        out.mkdir(exist_ok=True)
        for src in sorted(p for p in stage.rglob("*") if p.is_file()):
            dst = out / src.relative_to(stage)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def interrupted(out: Path) -> int:
    """Say that Ctrl+C stopped the run and that ``out`` was left as it was; the exit status."""
    print(
        f"\n已中断 (interrupted): 本次结果未写出，{out} 保持上次运行的内容 "
        "(nothing of this run was written; the output keeps the previous run's files)",
        file=sys.stderr,
    )
    return INTERRUPTED_EXIT


def failed(exc: GeoError | OSError, bar=None) -> int:
    """Say why a script stopped — bad input (:class:`GeoError`) or an output it cannot write
    (:class:`OSError`, named by its file name only) — after closing its progress ``bar``; exit 2."""
    if bar is not None:
        bar.close()
    if isinstance(exc, GeoError):
        print(f"错误 (error): {exc}", file=sys.stderr)
    else:
        print(
            f"错误: 无法写出结果 (cannot write output): {exc.strerror} {Path(exc.filename or '').name}", file=sys.stderr
        )
    return 2


def interruptible(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """A script's ``main`` that ends on Ctrl+C with a message and :data:`INTERRUPTED_EXIT`, not a traceback.

    For scripts whose every file is written whole by :func:`geo.io.export.atomic_write`
    (a file is the old one or the complete new one).
    """

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except KeyboardInterrupt:
            print(
                "\n已中断 (interrupted): 未完成的结果文件没有写出，已有文件保持原样 "
                "(files not finished were not written; existing files are unchanged)",
                file=sys.stderr,
            )
            return INTERRUPTED_EXIT

    return run


# --- h-deliver (issue 21): the export coordinate system of a script's files ---


def export_crs_name(text: str) -> str:
    """``--crs``: a key of :data:`geo.io.crs.EXPORT_CRS_CHOICES` or an EPSG code (argparse exits 2 otherwise)."""
    from geo.errors import CRSError
    from geo.io.crs import parse_export_crs

    try:
        parse_export_crs(text)
    except CRSError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_crs(parser: argparse.ArgumentParser) -> None:
    """The ``--crs`` option: WGS84 (default), CGCS2000, or its 3-degree Gauss-Kruger zone."""
    from geo.io.crs import EXPORT_CRS_CHOICES

    parser.add_argument(
        "--crs",
        type=export_crs_name,
        default="wgs84",
        help="导出坐标系 (output CRS): "
        + "; ".join(f"{k} = {v}" for k, v in EXPORT_CRS_CHOICES.items())
        + "; 或 EPSG 代码. 分带按数据中心经度选择; CGCS2000 与 WGS84 按地图精度视为相同",
    )
