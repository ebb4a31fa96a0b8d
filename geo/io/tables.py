"""Planners' tables (CSV from Excel in UTF-8, UTF-8 with BOM or GBK): rows with their line numbers,
columns found by their Chinese or English names, coordinates in decimal degrees or
degrees-minutes-seconds (docs/bad-inputs.md U7).  :func:`geo.io.uploads.read_upload` builds
points from them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from geo.errors import InputDataError
from geo.io.textfiles import decode_text

__all__ = ["find_column", "parse_coordinate", "read_csv_rows"]

_DMS = re.compile(
    r"""^\s*([NSEW东西南北])?\s*
    (\d+(?:\.\d+)?)\s*(?:°|度|º|d)\s*
    (?:(\d+(?:\.\d+)?)\s*(?:'|′|’|分|m)\s*)?
    (?:(\d+(?:\.\d+)?)\s*(?:"|″|''|”|秒|s)\s*)?
    ([NSEW东西南北])?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_coordinate(text: object) -> tuple[float | None, str | None]:
    """A number or a DMS string (``118°47'30"E``) as decimal degrees; else (None, reason)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None, "为空 (empty)"
    if isinstance(text, (int, float)):
        return float(text), None
    s = str(text).strip()
    if not s:
        return None, "为空 (empty)"
    try:
        value = float(s)
    except ValueError:
        pass
    else:
        return (value, None) if np.isfinite(value) else (None, f"{s[:20]!r} 不是有限数 (not finite)")
    m = _DMS.match(s)
    if not m or (m.group(1) and m.group(5)):
        return None, f"{s[:20]!r} 不是数字或度分秒 (not a number or DMS)"
    deg, minutes, seconds = float(m.group(2)), float(m.group(3) or 0), float(m.group(4) or 0)
    if minutes >= 60 or seconds >= 60:
        return None, f"{s[:20]!r} 分/秒应小于 60 (minutes/seconds must be < 60)"
    value = deg + minutes / 60.0 + seconds / 3600.0
    hemi = (m.group(1) or m.group(5) or "").upper()
    return (-value if hemi in ("S", "W", "西", "南") else value), None


def find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The first of ``columns`` whose stripped, lower-case name (BOM removed) is in ``names``."""
    lowered = {str(c).strip().lstrip("\ufeff").lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def read_csv_rows(upload: Path, name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and non-blank rows (with their line numbers) of a CSV in UTF-8 (BOM or not) or GB18030.

    Raises
    ------
    InputDataError
        An empty file or one in neither encoding.
    """
    reader = csv.reader(io.StringIO(decode_text(upload.read_bytes(), name)))
    header = next(reader, None)
    if header is None:
        raise InputDataError(f"{name} 为空 (empty file)")
    rows = []
    for cells in reader:
        if any(c.strip() for c in cells):
            rows.append((reader.line_num, cells + [""] * (len(header) - len(cells))))
    return header, rows
