"""The county's words for facilities: ledger category names -> service functions and facility types.

A Hui'an ledger says 邻里中心, 卫生院, 村卫生室, 农贸市场, 长者食堂 or 近邻警室, and an export of Amap
points says ``医疗保健服务;诊所``; the analysis needs the six functions (and the standard's
facility types, which carry the service radii).  The mapping lives in an editable table,
``data/vocabulary/categories.csv`` (columns 类别, 服务功能, 设施类型, 说明): 服务功能 lists one or
more functions by Chinese name or key (``老有所养|食有所安``, ``全部`` for all six), 设施类型 a
facility type key of the standard (or blank).  A county adds its own words in a table of the
same columns (``category_map``), which wins over the shipped one.

A category is matched whole first, then (for POI classes such as ``医疗保健服务;综合医院;诊所``)
each of its parts from the finest to the broadest.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from geo import settings
from geo.access.standards import FUNCTIONS, Standard, load_standard
from geo.errors import InputDataError
from geo.io.textfiles import decode_text

__all__ = ["ALL_FUNCTIONS_WORDS", "VOCABULARY_PATH", "Meaning", "Vocabulary", "load_vocabulary", "parse_functions"]

VOCABULARY_PATH = settings.DATA_DIR / "vocabulary" / "categories.csv"
#: Words in 服务功能 meaning all six functions.
ALL_FUNCTIONS_WORDS = ("全部", "全功能", "all")
#: Words for the six functions only (without a project's "1+6+X" extras).
SIX_FUNCTIONS_WORDS = ("六大功能", "六项功能")
_SPLIT = re.compile(r"[;；|｜>＞/、,，]+")


@dataclass(frozen=True)
class Meaning:
    """What a category stands for: its functions (keys) and facility type key ("" when none)."""

    functions: tuple[str, ...]
    type: str = ""


def _key(text: object) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


def parse_functions(
    text: object, *, where: str = "", functions: Mapping[str, str] = FUNCTIONS, groups: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Function keys from ``老有所养|食有所安``, ``medical``, ``全部`` ...; ``()`` for a blank cell.

    ``functions`` are the functions the project analyses (key -> name: the six and its
    "1+6+X" extras, see :meth:`geo.access.standards.Standard.with_extra_functions`).
    ``全部`` means every one of them (``六大功能`` the six): a county that declares "1+6+X" functions says its
    neighbourhood centres bundle them; a centre without one lists its functions.  ``groups`` are the
    standard's facility groups outside the functions (学有所教: schools): named on their own, never in ``全部``.

    Raises
    ------
    InputDataError
        A word that names no function.
    """
    words = [w for w in _SPLIT.split(unicodedata.normalize("NFKC", str(text or "")).strip()) if w.strip()]
    keys: list[str] = []
    named = {**(groups or {}), **functions}
    by_word = {_key(k): k for k in named} | {_key(v): k for k, v in named.items()}
    for w in words:
        if _key(w) in ALL_FUNCTIONS_WORDS:
            found: tuple[str | None, ...] = tuple(functions)
        elif _key(w) in SIX_FUNCTIONS_WORDS:
            found = tuple(FUNCTIONS)
        else:
            found = (by_word.get(_key(w)),)
        if None in found:
            allowed = "、".join(functions.values())
            raise InputDataError(
                f"{where}服务功能「{w}」无效，可用: {allowed} 或 全部 (unknown service function {w!r})"
            )
        keys.extend(k for k in found if k is not None and k not in keys)
    return tuple(keys)


class Vocabulary:
    """Category text -> :class:`Meaning`, from the shipped table, the standard and a county's own table."""

    def __init__(self, entries: Mapping[str, Meaning]):
        self.entries = dict(entries)

    def lookup(self, category: object) -> Meaning | None:
        """The meaning of a ledger's category; ``None`` when no word of it is known."""
        whole = _key(category)
        if not whole:
            return None
        if whole in self.entries:
            return self.entries[whole]
        parts = [p for p in _SPLIT.split(whole) if p]
        for part in reversed(parts):
            if part in self.entries:
                return self.entries[part]
        return None

    def with_entries(self, extra: Mapping[str, Meaning]) -> Vocabulary:
        """This vocabulary with ``extra`` categories added (over the existing ones)."""
        return Vocabulary({**self.entries, **{_key(k): v for k, v in extra.items()}})


def _read_table(text: str, where: str, standard: Standard) -> dict[str, Meaning]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [(f or "").strip() for f in (reader.fieldnames or [])]
    if "类别" not in fields or "服务功能" not in fields:
        raise InputDataError(f"{where} 需要列 类别、服务功能（可选 设施类型） (needs columns 类别, 服务功能)")
    entries: dict[str, Meaning] = {}
    for n, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        category = row.get("类别", "")
        if not category:
            continue
        functions = parse_functions(
            row.get("服务功能"), where=f"{where} 第 {n} 行", functions=standard.functions, groups=standard.groups
        )
        if not functions:
            raise InputDataError(f"{where} 第 {n} 行「{category}」没有服务功能 (no function given)")
        ftype = row.get("设施类型", "")
        if ftype:
            by_name = {t.name_zh: k for k, t in standard.facility_types.items()}
            ftype = by_name.get(ftype, ftype)
            if ftype not in standard.facility_types:
                raise InputDataError(
                    f"{where} 第 {n} 行的设施类型「{ftype}」不在标准 {standard.code} 中 "
                    f"(facility type not in the standard)"
                )
            if standard.facility_types[ftype].function not in functions:
                raise InputDataError(
                    f"{where} 第 {n} 行的设施类型「{ftype}」不属于所列服务功能 (facility type of another function)"
                )
        entries[_key(category)] = Meaning(functions, ftype)
    return entries


def load_vocabulary(
    category_map: Path | Mapping[str, str] | None = None,
    *,
    path: Path = VOCABULARY_PATH,
    standard: Standard | None = None,
) -> Vocabulary:
    """The shipped vocabulary, the standard's own names, and a county's additions on top.

    Parameters
    ----------
    category_map
        The county's own table (CSV, columns 类别, 服务功能, 设施类型), or a mapping
        category -> 服务功能 text (``{"快递驿站": "事有所办"}``, as typed in the page).
    path
        The shipped table.
    standard
        The standard whose type names are also understood (default GB 50180-2018).

    Raises
    ------
    InputDataError
        A table without the columns, an unknown function or facility type (by line).
    """
    standard = standard or load_standard()
    entries: dict[str, Meaning] = {}
    for key, label in {**standard.groups, **standard.functions}.items():
        entries[_key(key)] = entries[_key(label)] = Meaning((key,))
    for key, ftype in standard.facility_types.items():
        meaning = Meaning((ftype.function,), key)
        for text in (key, ftype.name_zh, ftype.name_en, *ftype.name_zh.split("/")):
            entries[_key(text)] = meaning
    entries.update(_read_table(path.read_text(encoding="utf-8-sig"), path.name, standard))
    if isinstance(category_map, Mapping):
        for category, functions in category_map.items():
            parsed = parse_functions(functions, where=f"类别「{category}」的", functions=standard.functions)
            if parsed:
                entries[_key(category)] = Meaning(parsed)
    elif category_map is not None:
        category_map = Path(category_map)
        entries.update(
            _read_table(decode_text(category_map.read_bytes(), category_map.name), category_map.name, standard)
        )
    return Vocabulary(entries)
