"""Cells of planners' tables: columns found by their Chinese or English names, coordinates in decimal
degrees, degrees-minutes-seconds or one ``经度,纬度`` cell, counts with units or full-width digits
(docs/bad-inputs.md U7).  The rows come from :func:`geo.io.sheets.read_sheet`.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

__all__ = ["find_column", "normalise_cell", "parse_coordinate", "parse_count", "parse_pair"]

_DMS = re.compile(
    r"""^\s*([NSEW东西南北])?\s*
    (\d+(?:\.\d+)?)\s*(?:°|度|º|d)\s*
    (?:(\d+(?:\.\d+)?)\s*(?:'|′|’|分|m)\s*)?
    (?:(\d+(?:\.\d+)?)\s*(?:"|″|′′|''|”|秒|s)\s*)?
    ([NSEW东西南北])?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_coordinate(text: object) -> tuple[float | None, str | None]:
    """A number or a DMS string (``118°47'30"E``) as decimal degrees; else (None, reason)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None, "为空 (empty)"
    if isinstance(text, (int, float)):
        return float(text), None
    s = normalise_cell(text)
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


# -- cells as county offices write them (issue 16) ---------------------------------------------------

#: Characters that are noise in a cell: zero-width spaces, BOMs, non-breaking spaces (NFKC makes the
#: last a plain space).
_NOISE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff"), None)
#: Units written after counts in ledgers (``120户``, ``350人``, ``3个``).
_COUNT_UNITS = re.compile(r"\s*(户|人|名|个|位|间|处|家|套|栋|平方米|㎡|m2|m²)\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
#: A longitude and a latitude in one cell: ``118.80,25.03``, ``118.80 25.03``, ``118.80；25.03``.
_PAIR = re.compile(r"^\s*\(?\s*([^,;\s()]+)\s*[,;\s]\s*([^,;\s()]+)\s*\)?\s*$")


def normalise_cell(value: object) -> str:
    """A cell as text: full-width digits and punctuation made ASCII (NFKC), noise and edges stripped.

    Numbers read from Excel keep all their digits (``118.801234`` stays so; ``120.0`` becomes ``120``).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if not np.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).translate(_NOISE)
    return " ".join(text.split())


def parse_count(text: object) -> tuple[float | None, str | None]:
    """A count or amount from a cell: ``120``, ``120户``, ``１２０``, ``1,200``, ``1.2万``.

    Returns ``(value, None)``; ``(None, None)`` for a blank cell; ``(None, reason)`` when the
    cell is not a number.
    """
    s = normalise_cell(text)
    if not s or s in ("-", "—", "/", "无"):
        return None, None
    core = _COUNT_UNITS.sub("", s).replace(",", "").replace(" ", "")
    factor = 1.0
    if core.endswith("万"):
        core, factor = core[:-1], 1e4
    if not _NUMBER.match(core):
        return None, f"{s[:20]!r} 不是数字 (not a number)"
    value = float(core) * factor
    if value < 0:
        return None, f"{s[:20]!r} 为负数 (negative)"
    return value, None


def parse_pair(text: object) -> tuple[tuple[float, float] | None, str | None]:
    """Longitude and latitude from one cell (``118.80,25.03``; either order inside China).

    Inside China every longitude (73-135) is larger than every latitude (3-54), so a pair
    written latitude first (as Baidu's picker shows it) is put right by their sizes.
    """
    s = normalise_cell(text)
    if not s:
        return None, "为空 (empty)"
    m = _PAIR.match(s.replace("，", ",").replace("；", ";"))
    if not m:
        return None, f"{s[:30]!r} 不是 经度,纬度 (not a 'lon,lat' pair)"
    a, why_a = parse_coordinate(m.group(1))
    b, why_b = parse_coordinate(m.group(2))
    if a is None or b is None:
        return None, f"{s[:30]!r} {why_a or why_b}"
    if 3 <= a <= 54 and 73 <= b <= 136:
        a, b = b, a
    return (a, b), None
