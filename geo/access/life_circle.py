"""The life-circle check per area: which standard, which level, which reach, and whether the area fits.

A county is a county seat and villages.  The county seat's communities are checked against
GB 50180-2018 (urban, :data:`~geo.access.standards.STANDARD_FILES` ``gb50180``); villages and
towns against the rural community life circle of TD/T 1062-2021 (``tdt1062``: the town
乡集镇层级 and the village 村/组层级).  Which one a unit gets:

1. the planner's choice (``override``: one standard for every unit), else
2. the unit's own type (a ``area_type`` column of the unit layer: 城镇/乡村, urban/rural), else
3. the project's type (``area_type = "乡村"`` in the project file; default 城镇).

Its level: the unit's ``level`` column when it names a level of that standard (``village``,
``乡镇`` ...), else ``level`` for the urban standard (default 15-minute) and, for the rural one,
the town level for a whole study area and the village level for a unit.

Every facility line is judged within its reach, measured in the level's mode: walking for the
urban levels and the village (the scene's walking profile, elderly included), electric bicycle
for the town level (or a speed the planner sets); the reach is written beside every figure, with
the standard, the clause and 待核实 where a figure is not yet confirmed against the text.

A whole study area is judged as one life circle only where its residents fit the level's range
(GB 50180-2018 table 4.0.1); otherwise its lines say 未判定, and where the project has
communities or grids the check runs per unit and says so.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import settings
from geo.access.coverage import AGE_BASIS, ALL_UNITS, BASIS_ZH, VERDICT_ZH, Accessibility, accessibility, assign_units
from geo.access.standards import UNCONFIRMED_ZH, Standard, standard_by_key
from geo.errors import InputDataError
from geo.settings import TravelProfile

logger = logging.getLogger(__name__)

__all__ = [
    "AREA_TYPE_ZH",
    "CHECK_COLUMNS",
    "CHECK_COLUMNS_EN",
    "CircleChoice",
    "LevelReach",
    "area_type_of",
    "choose_circle",
    "life_circle_check",
    "mode_profile",
    "town_reach",
]

#: A unit's or a project's type, as planners write it -> ``urban`` / ``rural``.
AREA_TYPE_WORDS: Mapping[str, str] = {
    "urban": "urban",
    "城镇": "urban",
    "城市": "urban",
    "城区": "urban",
    "县城": "urban",
    "社区": "urban",
    "rural": "rural",
    "乡村": "rural",
    "农村": "rural",
    "村庄": "rural",
    "村": "rural",
}
AREA_TYPE_ZH: Mapping[str, str] = {"urban": "城镇", "rural": "乡村"}
#: The shipped standard of each kind of area.
STANDARD_OF_AREA: Mapping[str, str] = {"urban": "gb50180", "rural": "tdt1062"}
#: Words of a unit's ``level`` column that name a rural level.
LEVEL_WORDS: Mapping[str, str] = {
    "乡镇": "township",
    "乡集镇": "township",
    "镇": "township",
    "乡": "township",
    "村": "village",
    "村组": "village",
    "村/组": "village",
    "行政村": "village",
}
#: Unit layers the check falls back to when a whole area does not fit its level, finest last.
FALLBACK_LAYERS = ("community", "grid")
FALLBACK_ZH = {"community": "社区/村", "grid": "网格"}
FALLBACK_EN = {"community": "community/village", "grid": "grid"}
#: Columns of :func:`life_circle_check`.
CHECK_COLUMNS = (
    "unit",
    "unit_name",
    "area_type",
    "standard",
    "level",
    "item",
    "name_zh",
    "verdict",
    "verdict_zh",
    "measured",
    "required",
    "unit_of_measure",
    "reach",
    "clause",
    "status",
    "note",
)
#: English beside the Chinese of a check line (h-rural2, issue 21), for the page in English;
#: :func:`life_circle_check` adds them with ``english=True``.  Exports for officials stay Chinese.
CHECK_COLUMNS_EN = ("name_en", "verdict_en", "required_en", "reach_en", "status_en", "note_en")
VERDICT_EN: Mapping[str, str] = {
    "pass": "meets",
    "fail": "short",
    "missing": "missing",
    "no_residents": "no residents",
    "not_judged": "not judged (population outside the level's range)",
    "no_range": "no range in the standard",
}
BASIS_EN: Mapping[str, str] = {"residents": "residents", "elderly": "elderly", "children": "children"}
LEVEL_EN: Mapping[str, str] = {
    "15_minute": "15-minute life circle",
    "10_minute": "10-minute life circle",
    "5_minute": "5-minute life circle",
    "block": "residential block",
    "township": "town/township level",
    "village": "village/group level",
}
AREA_TYPE_EN: Mapping[str, str] = {"urban": "urban", "rural": "rural"}
UNCONFIRMED_EN = "to be confirmed"


def area_type_of(value: object, *, where: str = "") -> str:
    """``urban`` / ``rural`` from 城镇/乡村 (and the other words of :data:`AREA_TYPE_WORDS`).

    Raises
    ------
    InputDataError
        A word that names no type.
    """
    text = str(value or "").strip()
    key = AREA_TYPE_WORDS.get(text.lower()) or AREA_TYPE_WORDS.get(text)
    if key is None:
        raise InputDataError(
            f"{where}城乡类型「{text}」无效，可选: 城镇、乡村 (urban or rural) (unknown area type {text!r})"
        )
    return key


@dataclass(frozen=True)
class CircleChoice:
    """The standard and level one unit is checked against, and why."""

    standard: Standard
    level: str
    area_type: str
    why: str
    why_en: str = ""


def _standard_for(area_type: str, own: Standard) -> Standard:
    """The project's own standard when it is of that kind of area (a county file, "1+6+X"), else the shipped one."""
    return own if own.area_type == area_type else standard_by_key(STANDARD_OF_AREA[area_type])


def choose_circle(
    own: Standard,
    *,
    whole_area: bool,
    unit_type: str | None = None,
    unit_level: str | None = None,
    override: str | Standard | None = None,
    area_type: str = "urban",
    level: str = "15_minute",
    rural_level: str | None = None,
) -> CircleChoice:
    """The standard and level of one unit (or the whole area), see the module's rules.

    Raises
    ------
    InputDataError
        An unknown override, area type or level.
    """
    if isinstance(override, Standard):
        standard, why = override, f"指定标准 {override.code}"
        why_en = f"standard given: {override.code}"
    elif override:
        standard = _standard_for(standard_by_key(override).area_type, own)
        why = f"规划师指定 {standard.code}"
        why_en = f"chosen by the planner: {standard.code}"
    elif unit_type:
        kind = area_type_of(unit_type)
        standard, why = _standard_for(kind, own), f"分区类型「{AREA_TYPE_ZH[kind]}」"
        why_en = f"the unit's type: {AREA_TYPE_EN[kind]}"
    else:
        kind = area_type_of(area_type)
        standard, why = _standard_for(kind, own), f"项目类型「{AREA_TYPE_ZH[kind]}」"
        why_en = f"the project's type: {AREA_TYPE_EN[kind]}"
    chosen = None
    if unit_level:
        word = str(unit_level).strip()
        chosen = word if word in standard.levels else LEVEL_WORDS.get(word)
        if chosen not in standard.levels:
            chosen = None
    if chosen is None:
        if standard.area_type == "rural":
            chosen = rural_level or ("township" if whole_area else "village")
        else:
            chosen = level
    if chosen not in standard.levels:
        raise InputDataError(
            f"生活圈等级 {chosen!r} 不在标准 {standard.code} 中 (unknown level; have {', '.join(standard.levels)})"
        )
    return CircleChoice(standard, chosen, standard.area_type, why, why_en)


def required_types(standard: Standard, level: str) -> list[str]:
    """Facility types a unit at ``level`` must reach: the level's and its finer levels'.

    The finer levels are the level's ``includes`` (TD/T 1062: the town also needs the village's
    items), or, without it, every level with fewer walking minutes (GB 50180: 15 > 10 > 5).
    A type needs a level; its radius may be missing (judged by its level's reach).
    """
    lvl = standard.levels[level]
    if lvl.includes is not None:
        wanted = {level, *lvl.includes}
    else:
        wanted = {
            k
            for k, other in standard.levels.items()
            if other.walking_minutes is not None
            and lvl.walking_minutes is not None
            and other.walking_minutes <= lvl.walking_minutes
        }
    return [key for key, ft in standard.facility_types.items() if ft.level in wanted]


def mode_profile(mode: str, scene: TravelProfile, speeds_kmh: Mapping[str, float]) -> TravelProfile:
    """The profile a level's reach is measured with: the scene's own when it walks and the level walks.

    ``speeds_kmh`` (mode -> km/h) is the planner's speed of a mode, 1-60 km/h.

    Raises
    ------
    InputDataError
        A speed outside 1-60 km/h; an unknown mode.
    """
    if mode == "walk" and scene.name in ("walk", "elderly") and "walk" not in speeds_kmh:
        return scene
    profile = settings.get_profile(mode)
    speed = speeds_kmh.get(mode)
    if speed is None:
        return profile
    if not (np.isfinite(speed) and 1 <= speed <= 60):
        raise InputDataError(f"速度 {speed!r} km/h 应在 1-60 之间 (speed must lie in 1-60 km/h)")
    return dataclasses.replace(
        profile, speed_kmh=float(speed), source=f"规划师指定 {speed:g} km/h (speed set by the planner)"
    )


@dataclass(frozen=True)
class LevelReach:
    """How far a life-circle level reaches: its travel mode (with the speed), its minutes, its clause.

    Attributes
    ----------
    level
        The level's key (``township``).
    name_zh
        The level's Chinese name.
    profile
        The travel profile of the level's mode (electric bicycle for the town), at the speed the
        planner set where one was set.
    minutes
        The level's reach in minutes in that mode.
    clause
        The standard's clause; ``confirmed`` whether it was checked against the text.
    """

    level: str
    name_zh: str
    profile: TravelProfile
    minutes: float
    clause: str
    confirmed: bool

    @property
    def budget_s(self) -> float:
        """The reach in seconds."""
        return self.minutes * 60.0

    @property
    def note_zh(self) -> str:
        """``电动自行车 20 km/h、15 分钟 ≈ 5,000 m（条文，待核实）``: what a figure judged by it says."""
        status = "" if self.confirmed else f"，{UNCONFIRMED_ZH}"
        return (
            f"{self.profile.label_zh} {self.profile.speed_kmh:g} km/h、{self.minutes:g} 分钟 ≈ "
            f"{self.profile.metres_in(self.minutes):,.0f} m（{self.name_zh}，{self.clause}{status}）"
        )

    @property
    def note_en(self) -> str:
        """:attr:`note_zh` in English (the clause stays as the standard writes it)."""
        status = "" if self.confirmed else ", to be confirmed"
        mode = self.profile.label_en or self.profile.name
        return (
            f"{mode} {self.profile.speed_kmh:g} km/h, {self.minutes:g} min ≈ "
            f"{self.profile.metres_in(self.minutes):,.0f} m ({self.level} level, {self.clause}{status})"
        )


def town_reach(*, speed_kmh: float | None = None, standard: Standard | None = None) -> LevelReach:
    """The reach of the town circle (乡集镇层级 of TD/T 1062-2021): its mode, speed and minutes from the standard data.

    Parameters
    ----------
    speed_kmh
        The planner's speed of the town level's mode (km/h, 1-60); ``None``: the profile's own
        (electric bicycle 20 km/h).
    standard
        A rural standard with a ``township`` level; ``None``: the shipped TD/T 1062-2021 file.

    Raises
    ------
    InputDataError
        A speed outside 1-60 km/h, a standard without the town level or its minutes.
    """
    standard = standard or standard_by_key("tdt1062")
    if "township" not in standard.levels:
        raise InputDataError(f"标准 {standard.code} 没有乡集镇层级 (no township level)")
    lvl = standard.levels["township"]
    if lvl.reach_minutes is None:
        raise InputDataError(f"标准 {standard.code} 的乡集镇层级没有出行时间 (the town level has no reach)")
    speeds = {} if speed_kmh is None else {lvl.mode: float(speed_kmh)}
    profile = mode_profile(lvl.mode, settings.get_profile(lvl.mode), speeds)
    return LevelReach("township", lvl.name_zh, profile, float(lvl.reach_minutes), lvl.clause, lvl.confirmed)


class _Times:
    """Walking (or riding) times per facility type, by profile: the scene's, and others routed once."""

    def __init__(self, acc: Accessibility):
        self.acc = acc
        self.other: dict[str, Accessibility] = {}

    def seconds(self, profile: TravelProfile, key: str, search_s: float) -> np.ndarray:
        acc = self.acc
        if repr(profile) != repr(acc.profile):
            if acc.graph is None:
                raise InputDataError(
                    f"按{profile.label_zh}核算需要路网 (the check by {profile.name} needs the routing graph)"
                )
            name = repr(profile)
            if name not in self.other or self.other[name].types.max_time_s < search_s:
                typed = acc.facilities[acc.facilities["type"].fillna("").astype(str) != ""]
                self.other[name] = accessibility(
                    acc.graph.network.cost_graph(profile),
                    acc.demand.drop(columns=["snapped"], errors="ignore"),
                    typed.drop(columns=["snapped"], errors="ignore"),
                    standard=acc.standard,
                    search_min=search_s / 60.0,
                )
                logger.info("life-circle check: %s times routed for %d typed facilities", profile.name, len(typed))
            acc = self.other[name]
        if key not in acc.types.groups:
            return np.full(len(acc.demand), np.inf)
        return acc.times_s(key)


def _reach(standard: Standard, level: str, key: str, profile: TravelProfile) -> tuple[float, str, bool, str]:
    """Seconds a type is judged by, the reach beside its figure, whether it is confirmed, the reach in English."""
    ft = standard.facility_type(key)
    lvl = standard.levels[ft.level or level]
    speed = f"{profile.label_zh} {profile.speed_kmh:g} km/h"
    speed_en = f"{profile.label_en or profile.name} {profile.speed_kmh:g} km/h"
    if ft.radius_m is not None:
        seconds = ft.radius_m / profile.speed_mps
        return (
            seconds,
            f"{speed}，服务半径 ≤{ft.radius_m:g} m ≈ {seconds / 60:.1f} 分钟",
            ft.confirmed,
            f"{speed_en}, service radius ≤{ft.radius_m:g} m ≈ {seconds / 60:.1f} min",
        )
    minutes = lvl.reach_minutes
    if minutes is None:
        raise InputDataError(f"标准 {standard.code} 的层级 {lvl.key} 没有出行时间 (the level has no reach)")
    return (
        minutes * 60.0,
        f"{speed}，{minutes:g} 分钟 ≈ {profile.metres_in(minutes):,.0f} m（标准未给服务半径，按{lvl.name_zh}出行时间）",
        ft.confirmed and lvl.confirmed,
        f"{speed_en}, {minutes:g} min ≈ {profile.metres_in(minutes):,.0f} m (no radius in the standard: the "
        f"{LEVEL_EN.get(lvl.key, lvl.key)}'s travel time)",
    )


def _scale(standard: Standard, level: str, residents: float) -> tuple[str, str, bool]:
    """(verdict, required, fits) of a unit's residents against its level's range."""
    rng = standard.levels[level].residents
    if rng is None:
        return "no_range", "标准未给人口规模", True
    lo, hi = rng
    fits = lo <= residents <= hi
    return ("pass" if fits else "fail"), f"{lo:,.0f}-{hi:,.0f}", fits


def _fitting_levels(standard: Standard, residents: float) -> str:
    ranges = [(lvl.name_zh, lvl.residents) for lvl in standard.levels.values() if lvl.residents is not None]
    return "、".join(name for name, (lo, hi) in ranges if lo <= residents <= hi)


def _unit_rows(
    acc: Accessibility,
    times: _Times,
    unit: str,
    mask: np.ndarray,
    choice: CircleChoice,
    *,
    required_pct: float,
    speeds_kmh: Mapping[str, float],
    note: str,
    note_en: str = "",
) -> tuple[list[dict], bool]:
    """The scale line and every required type's line of one unit; also whether it fits its level."""
    standard, level = choice.standard, choice.level
    demand = acc.demand
    lvl = standard.levels[level]
    residents = float(demand.loc[mask, "residents"].sum())
    verdict, required, fits = _scale(standard, level, residents)
    common = {
        "unit": unit,
        "area_type": AREA_TYPE_ZH[choice.area_type],
        "standard": standard.code,
        "level": level,
    }
    why = f"依据: {choice.why}" + (f"；{note}" if note else "")
    why_en = f"basis: {choice.why_en}" + (f"; {note_en}" if note_en else "")
    level_en = LEVEL_EN.get(level, level)
    rows = [
        {
            **common,
            "item": "scale",
            "name_zh": f"人口规模 ({lvl.name_zh})",
            "verdict": verdict,
            "measured": residents,
            "required": required,
            "unit_of_measure": "人",
            "reach": "",
            "clause": lvl.clause,
            "status": "" if lvl.confirmed or lvl.residents is not None else UNCONFIRMED_ZH,
            "note": why,
            "name_en": f"Population ({level_en})",
            "required_en": required if verdict != "no_range" else "no range in the standard",
            "reach_en": "",
            "status_en": "" if lvl.confirmed or lvl.residents is not None else UNCONFIRMED_EN,
            "note_en": why_en,
        }
    ]
    judged = fits or unit != ALL_UNITS  # a unit is judged as it is; its scale line says whether it fits
    if not judged:
        fitting = _fitting_levels(standard, residents)
        why += f"；全域人口 {residents:,.0f} 人不在{lvl.name_zh} {required} 人范围内，不按一个生活圈判定" + (
            f"（人口规模对应{fitting}）" if fitting else ""
        )
        why_en += (
            f"; the whole area's {residents:,.0f} residents are outside the {level_en}'s {required}: not judged as one"
        )
    for key in required_types(standard, level):
        ft = standard.facility_type(key)
        profile = mode_profile(standard.levels[ft.level or level].mode, acc.profile, speeds_kmh)
        budget_s, reach, confirmed, reach_en = _reach(standard, level, key, profile)
        basis = AGE_BASIS.get(ft.function) if AGE_BASIS.get(ft.function) in demand.columns else "residents"
        population = demand.loc[mask, basis].to_numpy(float)
        total = float(population.sum())
        covered_mask = times.seconds(profile, key, budget_s)[mask] <= budget_s
        covered = float(population[covered_mask].sum())
        if total <= 0:
            verdict, measured = "no_residents", np.nan
        else:
            measured = 100.0 * covered / total
            if not judged:
                verdict = "not_judged"
            else:
                verdict = "pass" if measured >= required_pct - 1e-9 else ("missing" if covered <= 0 else "fail")
        minutes = standard.levels[ft.level or level].reach_minutes
        label = f"≤{ft.radius_m:g} m" if ft.radius_m is not None else f"{profile.label_zh} {minutes:g} 分钟"
        label_en = (
            f"≤{ft.radius_m:g} m" if ft.radius_m is not None else f"{profile.label_en or profile.name} {minutes:g} min"
        )
        rows.append(
            {
                **common,
                "item": key,
                "name_zh": f"{ft.name_zh} ({label}, {BASIS_ZH.get(str(basis), str(basis))})",
                "verdict": verdict,
                "measured": measured,
                "required": f"≥{required_pct:g}",
                "unit_of_measure": "%",
                "reach": reach,
                "clause": ft.clause or standard.code,
                "status": "" if confirmed else UNCONFIRMED_ZH,
                "note": why,
                "name_en": f"{ft.name_en} ({label_en}, {BASIS_EN.get(str(basis), str(basis))})",
                "required_en": f"≥{required_pct:g}",
                "reach_en": reach_en,
                "status_en": "" if confirmed else UNCONFIRMED_EN,
                "note_en": why_en,
            }
        )
    return rows, fits


def life_circle_check(
    acc: Accessibility,
    *,
    level: str = "15_minute",
    required_pct: float = settings.STANDARD_REQUIRED_COVERAGE_PCT,
    override: str | Standard | None = None,
    area_type: str = "urban",
    rural_level: str | None = None,
    speeds_kmh: Mapping[str, float] | None = None,
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    english: bool = False,
) -> pd.DataFrame:
    """Pass / fail / missing per area unit and required facility type, each unit by its own standard.

    Parameters
    ----------
    acc
        The walking times of the scene (:func:`geo.access.coverage.accessibility`); a unit
        column in its demand (:func:`geo.access.coverage.assign_units`) checks per unit, its
        ``unit_types`` / ``unit_levels`` give each unit's type and level.
    level
        The urban (GB 50180) level of units that do not name their own.
    required_pct
        Share of a unit's residents (elderly / children for their functions) within reach for ``pass``.
    override
        The planner's choice for every unit: ``gb50180``, ``tdt1062`` or a :class:`Standard`.
    area_type
        The project's type (城镇 / 乡村) for units without one.
    rural_level
        The rural level for units that do not name theirs (default: town for a whole area, village for a unit).
    speeds_kmh
        A speed per travel mode set by the planner (``{"ebike": 15}``: the town level at 15 km/h).
    units
        Unit layers by level (the project's ``community``, ``grid``): where the whole area does not
        fit its level, the check runs per unit of the first of them that exists.
    english
        Also :data:`CHECK_COLUMNS_EN` (the page in English; exports for officials leave them out).

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`: ``verdict`` is pass / fail / missing / no_residents, ``not_judged``
        (a whole area outside its level's population) or ``no_range`` (a scale line without range);
        ``reach`` states mode, speed and radius or minutes; ``status`` says 待核实 where a figure is
        not confirmed against the text; ``note`` why this standard and how the unit was judged.

    Raises
    ------
    InputDataError
        A level, standard, area type or speed that is not known; ``required_pct`` outside (0, 100].
    """
    if not (0 < required_pct <= 100):
        raise InputDataError(f"达标覆盖率 required_pct={required_pct} 应在 (0, 100] 之间 (percent)")
    known = {*acc.standard.levels, *standard_by_key("gb50180").levels, *standard_by_key("tdt1062").levels}
    if level not in known:
        raise InputDataError(f"生活圈等级 {level!r} 不在标准中 (unknown level; have {', '.join(sorted(known))})")
    speeds = dict(speeds_kmh or {})
    times = _Times(acc)
    demand = acc.demand
    choose = functools.partial(
        choose_circle, acc.standard, override=override, area_type=area_type, level=level, rural_level=rural_level
    )

    def judge(
        sub: Accessibility, sub_times: _Times, unit: str, mask: np.ndarray, choice: CircleChoice, note: str, en: str
    ):
        return _unit_rows(
            sub, sub_times, unit, mask, choice, required_pct=required_pct, speeds_kmh=speeds, note=note, note_en=en
        )[0]

    def per_unit(sub: Accessibility, sub_times: _Times, note: str, en: str) -> list[dict]:
        codes = sub.demand["unit"].astype(str).to_numpy(object)
        types = sub.demand.attrs.get("unit_types", {})
        levels = sub.demand.attrs.get("unit_levels", {})
        out: list[dict] = []
        for unit in sorted({u for u in codes if u}):
            choice = choose(whole_area=False, unit_type=types.get(unit), unit_level=levels.get(unit))
            out += judge(sub, sub_times, unit, codes == unit, choice, note, en)
        return out

    rows: list[dict] = []
    names: dict[str, str] = dict(demand.attrs.get("unit_names", {}))
    if "unit" in demand.columns:
        rows = per_unit(acc, times, "按分区判定", "judged per unit")
    else:
        choice = choose(whole_area=True)
        whole = np.ones(len(demand), dtype=bool)
        residents = float(demand["residents"].sum())
        fits = _scale(choice.standard, choice.level, residents)[2]
        layer = next((k for k in FALLBACK_LAYERS if units and k in units), None)
        if fits or units is None or layer is None:
            note = "全域按一个生活圈判定" if fits else "项目没有社区/网格分区，无法按分区判定"
            en = "the whole area judged as one life circle" if fits else "no community/grid units to judge per unit"
            rows = judge(acc, times, ALL_UNITS, whole, choice, note, en)
        else:
            lvl = choice.standard.levels[choice.level]
            said = f"全域人口 {residents:,.0f} 人不在{lvl.name_zh}人口规模内，改为按{FALLBACK_ZH[layer]}逐个判定"
            en = (
                f"the whole area's {residents:,.0f} residents are outside the "
                f"{LEVEL_EN.get(choice.level, choice.level)}'s range: judged per {FALLBACK_EN[layer]}"
            )
            rows = judge(acc, times, ALL_UNITS, whole, choice, said, en)[:1]  # the scale line says why
            split = assign_units(demand, units[layer].to_crs(demand.crs))
            names.update(split.attrs.get("unit_names", {}))
            sub = dataclasses.replace(acc, demand=split)
            sub_times = _Times(sub)
            sub_times.other = times.other  # same rows in the same order: times routed once serve both
            rows += per_unit(sub, sub_times, said, en)
    table = pd.DataFrame(rows)
    table["verdict_zh"] = table["verdict"].map(VERDICT_ZH)
    table["unit_name"] = table["unit"].map(lambda u: ALL_UNITS if u == ALL_UNITS else names.get(u, ""))
    if english:
        table["verdict_en"] = table["verdict"].map(VERDICT_EN)
        return table[[*CHECK_COLUMNS, *CHECK_COLUMNS_EN]]
    return table[list(CHECK_COLUMNS)]
