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
    "STANDARD_FILES",
    "STANDARD_PATH",
    "UNCONFIRMED_ZH",
    "FacilityType",
    "LifeCircleLevel",
    "Standard",
    "facility_type_radius_m",
    "load_standard",
    "standard_by_key",
]

STANDARD_PATH = settings.DATA_DIR / "standards" / "gb50180_2018.json"
#: The standards shipped, by the key a project file, a script or the web app names them with.
STANDARD_FILES: MappingProxyType[str, Path] = MappingProxyType(
    {
        "gb50180": STANDARD_PATH,
        "tdt1062": settings.DATA_DIR / "standards" / "tdt1062_2021.json",
    }
)
#: How a figure not yet confirmed against the standard's text is marked on every output.
UNCONFIRMED_ZH = "待核实"

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
    #: (min, max) residents; ``None`` when the standard gives no range.
    residents: tuple[float, float] | None
    #: (min, max) dwellings.
    dwellings: tuple[float, float] | None
    clause: str
    #: Travel profile the level's reach is measured with (``walk``, ``ebike`` ...).
    mode: str = "walk"
    #: Minutes of the level's reach in its ``mode`` (for walking levels: ``walking_minutes``).
    travel_minutes: float | None = None
    #: Life-circle levels whose facility types a unit at this level must also have; ``None``:
    #: every level with fewer minutes (GB 50180-2018's nesting 15 > 10 > 5 minutes).
    includes: tuple[str, ...] | None = None
    #: ``False`` while the level's figures are not yet confirmed against the text.
    confirmed: bool = True
    note: str | None = None

    @property
    def reach_minutes(self) -> float | None:
        """Minutes of the level's reach in its :attr:`mode`."""
        return self.travel_minutes if self.travel_minutes is not None else self.walking_minutes


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
    #: ``False`` while the type's level, radius or clause is not yet confirmed against the text.
    confirmed: bool = True


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
    #: Facility groups of their own outside the functions, key -> Chinese name (学有所教: schools):
    #: their types are routed and checked, but count towards none of the functions' coverage.
    groups: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: ``urban`` (城镇) or ``rural`` (乡村): the kind of area the standard is written for.
    area_type: str = "urban"
    #: The key of :data:`STANDARD_FILES` this standard was read from ("" for a county's own file).
    key: str = ""

    @property
    def extra_functions(self) -> tuple[str, ...]:
        """The functions beyond the six, in the order declared."""
        return tuple(k for k in self.functions if k not in FUNCTIONS)

    def function_label(self, key: str) -> str:
        """Chinese name of a function (or facility group) key; :class:`InputDataError` when there is none."""
        try:
            return self.functions[key] if key in self.functions else self.groups[key]
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


def _confirmed(raw: dict, where: str, entry: str) -> bool:
    value = raw.get("confirmed", True)
    if not isinstance(value, bool):
        raise _err(where, entry, f"的 confirmed 应为 true/false，现为 {value!r}", "confirmed must be a boolean")
    return value


def _level(key: str, raw: Any, where: str) -> LifeCircleLevel:
    entry = f"生活圈层级 {key!r}"
    _require(raw, _LEVEL_FIELDS, where, entry)
    minutes = raw["walking_minutes"]
    if minutes is not None and (not _is_number(minutes) or minutes <= 0):
        raise _err(where, entry, f"的步行时间 walking_minutes 必须为正数，现为 {minutes!r}", "minutes must be > 0")
    travel = raw.get("travel_minutes")
    if travel is not None and (not _is_number(travel) or travel <= 0):
        raise _err(where, entry, f"的出行时间 travel_minutes 必须为正数，现为 {travel!r}", "minutes must be > 0")
    mode = raw.get("mode", "walk")
    if mode not in settings.PROFILES:
        allowed = ", ".join(settings.PROFILES)
        raise _err(where, entry, f"的出行方式 mode={mode!r} 无效，可选: {allowed}", "unknown travel mode")
    includes = raw.get("includes")
    if includes is not None and (not isinstance(includes, list) or not all(isinstance(i, str) for i in includes)):
        raise _err(where, entry, "的 includes 应为层级名列表", "includes must be a list of level keys")
    distance = raw["walking_distance_m"]
    return LifeCircleLevel(
        key=key,
        name_zh=str(raw["name_zh"]),
        walking_minutes=minutes,
        walking_distance_m=None if distance is None else _range(distance, where, entry, "walking_distance_m"),
        residents=None if raw["residents"] is None else _range(raw["residents"], where, entry, "residents"),
        dwellings=None if raw["dwellings"] is None else _range(raw["dwellings"], where, entry, "dwellings"),
        clause=str(raw["clause"]),
        mode=mode,
        travel_minutes=travel,
        includes=None if includes is None else tuple(includes),
        confirmed=_confirmed(raw, where, entry),
        note=raw.get("note"),
    )


def _facility_type(
    key: str, raw: Any, levels: dict[str, LifeCircleLevel], groups: dict[str, str], where: str
) -> FacilityType:
    entry = f"设施类型 {key!r}"
    _require(raw, _TYPE_FIELDS, where, entry)
    function = raw["function"]
    if function not in FUNCTIONS and function not in groups:
        raise _err(
            where,
            entry,
            f"的服务功能 function={function!r} 无效，可选: {', '.join([*FUNCTIONS, *groups])}",
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
        confirmed=_confirmed(raw, where, entry),
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


def standard_by_key(key: str) -> Standard:
    """A shipped standard by its key (``gb50180``, ``tdt1062``), cached.

    Raises
    ------
    InputDataError
        An unknown key (the message lists the keys).
    """
    if key not in STANDARD_FILES:
        allowed = ", ".join(STANDARD_FILES)
        raise InputDataError(f"标准 {key!r} 无效，可选: {allowed} (unknown standard; allowed: {allowed})")
    return _shipped(key)


@lru_cache(maxsize=len(STANDARD_FILES))
def _shipped(key: str) -> Standard:
    return replace(_load(STANDARD_FILES[key]), key=key)


@lru_cache(maxsize=1)
def _default_standard() -> Standard:
    return replace(_load(STANDARD_PATH), key="gb50180")


def _read_json(path: Path) -> dict:
    where = path.name
    if not path.is_file():
        raise InputDataError(f"标准文件不存在: {where} (standard file not found)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputDataError(f"标准文件 {where} 不是有效的 JSON: {exc} (invalid JSON)") from exc
    if not isinstance(raw, dict):
        raise InputDataError(f"标准文件 {where} 应为 JSON 对象 (not a JSON object)")
    return raw


def _inherited_types(raw: dict, path: Path) -> dict[str, Any]:
    """The facility types of the file named by ``extends`` (names and functions; no level, radius or clause).

    A standard for another kind of area (TD/T 1062's villages) speaks of the same facilities as
    the urban one, so that the OSM tags and the county's words keep one catalogue of types.
    """
    base = raw.get("extends")
    if base is None:
        return {}
    if not isinstance(base, str) or "/" in base or "\\" in base or base == path.name:
        raise InputDataError(f"标准文件 {path.name} 的 extends 应为同一文件夹中的另一个标准文件名 (extends)")
    parent = _read_json(path.parent / base)
    types = parent.get("facility_types")
    if not isinstance(types, dict):
        raise InputDataError(f"标准文件 {base} 缺少字段: facility_types (missing fields)")
    return {
        k: {**v, "level": None, "radius_m": None, "clause": None, "note": None, "confirmed": True}
        for k, v in types.items()
        if isinstance(v, dict)
    } | {"_groups": parent.get("groups", {})}


def _load(path: Path) -> Standard:
    where = path.name
    raw = _read_json(path)
    missing = [f for f in ("levels", "facility_types") if not isinstance(raw.get(f), dict)]
    if missing:
        raise InputDataError(f"标准文件 {where} 缺少字段: {', '.join(missing)} (missing fields {missing})")
    inherited = _inherited_types(raw, path)
    raw_groups = {**inherited.pop("_groups", {}), **raw.get("groups", {})}
    groups: dict[str, str] = {}
    for key, value in raw_groups.items():
        if key in FUNCTIONS or not isinstance(value, dict) or not isinstance(value.get("name_zh"), str):
            raise _err(where, f"设施分组 {key!r}", "应为 {name_zh, name_en} 且不与六大功能重名", "invalid group")
        groups[key] = value["name_zh"]
    area_type = raw.get("area_type", "urban")
    if area_type not in ("urban", "rural"):
        raise InputDataError(f"标准文件 {where} 的 area_type 应为 urban 或 rural (area_type)")
    levels = {key: _level(key, value, where) for key, value in raw["levels"].items()}
    for level in levels.values():
        unknown = [i for i in level.includes or () if i not in levels]
        if unknown:
            raise _err(where, f"生活圈层级 {level.key!r}", f"的 includes 含未知层级 {unknown}", "unknown level")
    merged = {
        **inherited,
        **{k: {**inherited.get(k, {}), **v} if isinstance(v, dict) else v for k, v in raw["facility_types"].items()},
    }
    types = {key: _facility_type(key, value, levels, groups, where) for key, value in merged.items()}
    return Standard(
        code=str(raw.get("code", where)),
        title_zh=str(raw.get("title_zh", "")),
        title_en=str(raw.get("title_en", "")),
        levels=MappingProxyType(levels),
        facility_types=MappingProxyType(types),
        source=where,
        groups=MappingProxyType(groups),
        area_type=area_type,
    )


def facility_type_radius_m(type_key: str, standard: Standard | None = None) -> float | None:
    """Service radius in metres of a facility type (default standard: GB 50180-2018).

    Returns ``None`` when the standard gives the type no radius; raises
    :class:`InputDataError` when the type is not in the standard.
    """
    return (standard or load_standard()).radius_m(type_key)
