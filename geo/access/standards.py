"""Planning standard: life-circle levels and facility service radii, from a data file.

The default file, ``data/standards/gb50180_2018.json``, holds the life-circle levels
of GB 50180-2018 (table 4.0.1) and the facility types with their level, service
radius and the clause cited; each facility type belongs to one of the
six service functions.  A county may pass its own file with the same schema (the
file documents it in its ``_schema`` member).  Every figure a check relies on is
validated on loading: a wrong entry raises :class:`~geo.errors.InputDataError`
naming the file and the entry.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from geo import settings
from geo.errors import InputDataError

__all__ = [
    "FUNCTIONS",
    "FUNCTIONS_EN",
    "MAX_EXTRA_FUNCTIONS",
    "STANDARD_PATH",
    "FacilityType",
    "LifeCircleLevel",
    "Standard",
    "facility_type_radius_m",
    "load_standard",
]

STANDARD_PATH = settings.DATA_DIR / "standards" / "gb50180_2018.json"

#: The six service functions of the county documents, key -> Chinese label.
FUNCTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "elderly": "老有所养",
        "childcare": "幼有所育",
        "medical": "病有所医",
        "food": "食有所安",
        "leisure": "居有所乐",
        "services": "事有所办",
    }
)

#: The six functions' English names (the meanings in docs/STANDARDS); a project's own
#: "1+6+X" functions have none and keep their Chinese name in English.
FUNCTIONS_EN: MappingProxyType[str, str] = MappingProxyType(
    {
        "elderly": "Elderly care",
        "childcare": "Childcare",
        "medical": "Health care",
        "food": "Food supply",
        "leisure": "Culture and leisure",
        "services": "Administrative services",
    }
)

#: At most this many functions beyond the six ("1+6+X") per project.
MAX_EXTRA_FUNCTIONS = 12
#: Characters that separate functions in a ledger cell; an extra function's name cannot hold them.
_FUNCTION_SEPARATORS = re.compile(r"[|,，、;；/／+＋\s]")

_LEVEL_FIELDS = ("name_zh", "walking_minutes", "walking_distance_m", "residents", "dwellings", "clause")
_TYPE_FIELDS = ("name_zh", "name_en", "function", "level", "radius_m", "clause")


@dataclass(frozen=True)
class LifeCircleLevel:
    """One life-circle level (15-, 10-, 5-minute, residential block)."""

    key: str
    name_zh: str
    walking_minutes: float | None
    #: (min, max) walking distance in metres; ``None`` for the residential block.
    walking_distance_m: tuple[float, float] | None
    #: (min, max) residents.
    residents: tuple[float, float]
    #: (min, max) dwellings.
    dwellings: tuple[float, float]
    clause: str


@dataclass(frozen=True)
class FacilityType:
    """A facility type: its function, life-circle level and service radius."""

    key: str
    name_zh: str
    name_en: str
    #: One of :data:`FUNCTIONS`.
    function: str
    #: Key of a :class:`LifeCircleLevel`, or ``None`` when the standard sets none.
    level: str | None
    #: Service radius in metres, or ``None`` when the standard gives none.
    radius_m: float | None
    clause: str | None
    note: str | None = None


@dataclass(frozen=True)
class Standard:
    """A planning standard read by :func:`load_standard` (read-only mappings)."""

    code: str
    title_zh: str
    levels: MappingProxyType[str, LifeCircleLevel]
    facility_types: MappingProxyType[str, FacilityType]
    source: str
    #: The functions analysed, key -> Chinese name: the six of :data:`FUNCTIONS`, then the
    #: project's own ("1+6+X", see :meth:`with_extra_functions`), whose key is their name.
    functions: MappingProxyType[str, str] = field(default_factory=lambda: FUNCTIONS)
    #: The standard's English title (empty when the file gives none).
    title_en: str = ""

    @property
    def extra_functions(self) -> tuple[str, ...]:
        """The functions beyond the six, in the order declared."""
        return tuple(k for k in self.functions if k not in FUNCTIONS)

    def function_label(self, key: str) -> str:
        """Chinese name of a function key; :class:`InputDataError` when the standard has no such function."""
        try:
            return self.functions[key]
        except KeyError:
            allowed = "、".join(f"{v}" if k == v else f"{v} ({k})" for k, v in self.functions.items())
            raise InputDataError(f"服务功能 {key!r} 无效，可选: {allowed} (unknown function)") from None

    def with_extra_functions(self, names: Sequence[str]) -> Standard:
        """This standard with functions beyond the six ("1+6+X"), analysed like the six.

        An extra function is named in Chinese (``"安有所护"``, ``"金融便民"``); the name is
        also its key in tables and files.  It has no facility types in the standard: its
        facilities are judged by the function's walking time, like any function.

        Raises
        ------
        InputDataError
            An empty or over-long name, one holding a separator (``|``, ``、``, ``,`` ...), a
            name or key of the six, a repeated name, or more than :data:`MAX_EXTRA_FUNCTIONS`.
        """
        taken = {k.lower() for k in self.functions} | set(self.functions.values()) | {"全部", "all"}
        extra: dict[str, str] = {}
        for raw in names:
            name = str(raw).strip()
            if not name or len(name) > 20 or _FUNCTION_SEPARATORS.search(name):
                raise InputDataError(
                    f"扩展功能名称 {raw!r} 无效：应为 1-20 个字、不含 | 、 , ; / 等分隔符 "
                    "(an extra function needs a name of 1-20 characters without separators)"
                )
            if name.lower() in taken or name in extra:
                raise InputDataError(
                    f"扩展功能「{name}」与已有功能重名 (extra function {name!r} repeats an existing one)"
                )
            extra[name] = name
        if len(self.extra_functions) + len(extra) > MAX_EXTRA_FUNCTIONS:
            raise InputDataError(
                f"扩展功能最多 {MAX_EXTRA_FUNCTIONS} 项 (at most {MAX_EXTRA_FUNCTIONS} extra functions)"
            )
        return replace(self, functions=MappingProxyType({**self.functions, **extra}))

    def facility_type(self, type_key: str) -> FacilityType:
        """The facility type of a key; :class:`InputDataError` when it is not in the standard."""
        try:
            return self.facility_types[type_key]
        except KeyError:
            raise InputDataError(
                f"设施类型 {type_key!r} 不在标准 {self.code} ({self.source}) 中 (unknown facility type)"
            ) from None

    def radius_m(self, type_key: str) -> float | None:
        """Service radius of a facility type in metres (``None``: the standard gives none)."""
        return self.facility_type(type_key).radius_m


def _err(where: str, entry: str, text: str, english: str) -> InputDataError:
    return InputDataError(f"标准文件 {where} 中 {entry} {text} ({english})")


def _require(raw: Any, fields: tuple[str, ...], where: str, entry: str) -> None:
    if not isinstance(raw, dict):
        raise _err(where, entry, "应为对象 (JSON object)", "entry must be an object")
    missing = [f for f in fields if f not in raw]
    if missing:
        raise _err(where, entry, f"缺少字段: {', '.join(missing)}", f"missing fields {missing}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _range(raw: Any, where: str, entry: str, field: str) -> tuple[float, float]:
    if not isinstance(raw, dict) or not _is_number(raw.get("min")) or not _is_number(raw.get("max")):
        raise _err(where, entry, f"的 {field} 应为 {{min, max}} 数值", f"{field} must be {{min, max}} numbers")
    lo, hi = raw["min"], raw["max"]
    if lo < 0 or hi < lo:
        raise _err(where, entry, f"的 {field} 范围无效: {lo}-{hi}", f"invalid {field} range")
    return lo, hi


def _level(key: str, raw: Any, where: str) -> LifeCircleLevel:
    entry = f"生活圈层级 {key!r}"
    _require(raw, _LEVEL_FIELDS, where, entry)
    minutes = raw["walking_minutes"]
    if minutes is not None and (not _is_number(minutes) or minutes <= 0):
        raise _err(where, entry, f"的步行时间 walking_minutes 必须为正数，现为 {minutes!r}", "minutes must be > 0")
    distance = raw["walking_distance_m"]
    return LifeCircleLevel(
        key=key,
        name_zh=str(raw["name_zh"]),
        walking_minutes=minutes,
        walking_distance_m=None if distance is None else _range(distance, where, entry, "walking_distance_m"),
        residents=_range(raw["residents"], where, entry, "residents"),
        dwellings=_range(raw["dwellings"], where, entry, "dwellings"),
        clause=str(raw["clause"]),
    )


def _facility_type(key: str, raw: Any, levels: dict[str, LifeCircleLevel], where: str) -> FacilityType:
    entry = f"设施类型 {key!r}"
    _require(raw, _TYPE_FIELDS, where, entry)
    function = raw["function"]
    if function not in FUNCTIONS:
        raise _err(
            where,
            entry,
            f"的服务功能 function={function!r} 无效，可选: {', '.join(FUNCTIONS)}",
            "unknown service function",
        )
    level = raw["level"]
    if level is not None and level not in levels:
        raise _err(
            where, entry, f"的生活圈层级 level={level!r} 无效，可选: {', '.join(levels)} 或 null", "unknown level"
        )
    radius = raw["radius_m"]
    if radius is not None and (not _is_number(radius) or radius <= 0):
        raise _err(where, entry, f"的服务半径 radius_m 必须为正数（米）或 null，现为 {radius!r}", "radius must be > 0")
    return FacilityType(
        key=key,
        name_zh=str(raw["name_zh"]),
        name_en=str(raw["name_en"]),
        function=function,
        level=level,
        radius_m=None if radius is None else float(radius),
        clause=None if raw["clause"] is None else str(raw["clause"]),
        note=raw.get("note"),
    )


def load_standard(path: Path | str | None = None) -> Standard:
    """Read and validate a planning standard file.

    Parameters
    ----------
    path
        JSON file with the schema of ``data/standards/gb50180_2018.json``;
        ``None`` reads that default file (cached).

    Raises
    ------
    InputDataError
        Missing or unreadable file, missing fields, unknown function or level,
        non-positive radius; the message names the entry.
    """
    if path is None:
        return _default_standard()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_standard() -> Standard:
    return _load(STANDARD_PATH)


def _load(path: Path) -> Standard:
    where = path.name
    if not path.is_file():
        raise InputDataError(f"标准文件不存在: {where} (standard file not found)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputDataError(f"标准文件 {where} 不是有效的 JSON: {exc} (invalid JSON)") from exc
    if not isinstance(raw, dict):
        raise InputDataError(f"标准文件 {where} 应为 JSON 对象 (not a JSON object)")
    missing = [f for f in ("levels", "facility_types") if not isinstance(raw.get(f), dict)]
    if missing:
        raise InputDataError(f"标准文件 {where} 缺少字段: {', '.join(missing)} (missing fields {missing})")
    levels = {key: _level(key, value, where) for key, value in raw["levels"].items()}
    types = {key: _facility_type(key, value, levels, where) for key, value in raw["facility_types"].items()}
    return Standard(
        code=str(raw.get("code", where)),
        title_zh=str(raw.get("title_zh", "")),
        title_en=str(raw.get("title_en", "")),
        levels=MappingProxyType(levels),
        facility_types=MappingProxyType(types),
        source=where,
    )


def facility_type_radius_m(type_key: str, standard: Standard | None = None) -> float | None:
    """Service radius in metres of a facility type (default standard: GB 50180-2018).

    Returns ``None`` when the standard gives the type no radius; raises
    :class:`InputDataError` when the type is not in the standard.
    """
    return (standard or load_standard()).radius_m(type_key)
