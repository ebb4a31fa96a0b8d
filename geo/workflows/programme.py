"""The building programme of neighbourhood centres: status, target dates, phases, coverage by phase.

"倒排工期、挂图作战": each planned centre has a status (规划 planned, 已批复 approved, 在建
under construction, 已建成 open), a target date and a phase (批次/期).  This module

* reads the words planners write (:func:`parse_status`, :func:`parse_date` — ``2026-12-31``,
  ``2026/12/31``, ``2026年12月`` (month end), an Excel serial — :func:`parse_phase`);
* makes a :class:`Programme` (the :class:`geo.access.centres.Centres` and one row per centre)
  from a table of sites (:func:`make_programme`) or from a web plan's candidates
  (:func:`programme_from_features`);
* judges lateness against a date (:func:`lateness`): open, overdue, due soon, on track, no date;
* counts progress against targets such as "24 centres by year end" (:func:`progress`);
* computes coverage after each phase, cumulative, and for the centres open today
  (:func:`programme_coverage`: one routing of every site, :mod:`geo.access.centres`).

Dates are :class:`datetime.date`; "today" is always passed in (never read from the clock here).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.access.centres import CENTRE_KINDS, Centres, centre_coverage, make_centres, site_reach, town_covered
from geo.access.coverage import Accessibility
from geo.access.life_circle import town_reach
from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.network.graph import CostGraph

__all__ = [
    "CENTRE_MODES",
    "DUE_SOON_DAYS",
    "LATENESS",
    "PROGRAMME_FIELDS",
    "STATUSES",
    "Programme",
    "Target",
    "centre_mask",
    "counted_centres",
    "counted_centres_text",
    "lateness",
    "make_programme",
    "parse_date",
    "parse_phase",
    "parse_status",
    "parse_target",
    "phase_stages",
    "programme_coverage",
    "programme_from_features",
    "progress",
    "project_with_centres",
    "with_town_reach",
]

#: Status key -> Chinese, in the order a centre passes through them.
STATUSES = {"planned": "规划", "approved": "已批复", "construction": "在建", "open": "已建成"}
STATUS_WORDS = {
    **{k: k for k in STATUSES},
    **{v: k for k, v in STATUSES.items()},
    "规划中": "planned",
    "拟建": "planned",
    "计划": "planned",
    "待批": "planned",
    "批复": "approved",
    "已批": "approved",
    "已立项": "approved",
    "立项": "approved",
    "under construction": "construction",
    "在建中": "construction",
    "施工中": "construction",
    "建设中": "construction",
    "已开工": "construction",
    "建成": "open",
    "已完成": "open",
    "完成": "open",
    "已投用": "open",
    "投用": "open",
    "已运营": "open",
    "运营": "open",
    "built": "open",
}
#: Lateness key -> Chinese; colours on the map and the page follow these keys.
LATENESS = {
    "open": "已建成",
    "overdue": "逾期",
    "due_soon": "临近期限",
    "on_track": "按期推进",
    "no_date": "未定期限",
}
#: A centre not yet open whose target date is at most this many days away is "due soon".
DUE_SOON_DAYS = 30
#: Properties of a plan's candidate that hold its place in the programme (all optional).
PROGRAMME_FIELDS = ("centre", "centre_kind", "site_role", "functions", "status", "target_date", "phase")
#: Excel's day 0 (the 1900 date system, with its 1900-02-29): serial 46387 is 2026-12-31.
EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Excel serials accepted as dates: 1982-10-06 .. 2118-11-14, around any programme's dates.
EXCEL_SERIALS = (30_000, 80_000)
_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _clean(text: object) -> str:
    if text is None or (isinstance(text, float) and not np.isfinite(text)):
        return ""
    return " ".join(unicodedata.normalize("NFKC", str(text)).split())


def parse_status(text: object) -> str | None:
    """The status key of a word (``在建`` -> ``construction``); ``None`` if blank or unknown."""
    word = _clean(text).lower()
    return STATUS_WORDS.get(word) if word else None


def parse_date(value: object) -> tuple[dt.date | None, str | None, str | None]:
    """A target date from a cell: ``(date, note, why)``.

    Accepted: ``2026-12-31``, ``2026/12/31``, ``2026.12.31``, ``2026年12月31日``, a cell
    Excel gave as a date (``2026-12-31 00:00:00``), an Excel serial (``46387``); a month
    alone (``2026年12月``, ``2026-12``) or a year end (``2026年底``) means its last day, said
    in ``note``.  Blank: ``(None, None, None)``.  Unreadable: ``why`` says why.
    """
    if isinstance(value, dt.datetime):
        return value.date(), None, None
    if isinstance(value, dt.date):
        return value, None, None
    text = _clean(value)
    if not text:
        return None, None, None
    if re.fullmatch(r"\d+(\.0+)?", text):
        serial = int(float(text))
        if EXCEL_SERIALS[0] <= serial <= EXCEL_SERIALS[1]:
            day = EXCEL_EPOCH + dt.timedelta(days=serial)
            return day, f"Excel 日期序号 {serial} 读作 {day.isoformat()}", None
        return None, None, "不是日期（数字不是 Excel 日期序号）(not a date)"
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?", text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            return dt.date(y, mo, d), None, None
        except ValueError:
            return None, None, f"日期不存在（{y} 年 {mo} 月 {d} 日）(no such date)"
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:份)?(?:底|末)?", text)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            return None, None, f"月份 {mo} 无效 (no such month)"
        last = (dt.date(y + (mo == 12), mo % 12 + 1, 1) - dt.timedelta(days=1)) if y >= 1 else None
        return last, f"只写到月，按月末 {last.isoformat() if last else ''} 计", None
    m = re.fullmatch(r"(\d{4})\s*年?\s*(?:年底|底|年末|末)", text)
    if m:
        last = dt.date(int(m.group(1)), 12, 31)
        return last, f"「{text}」按 {last.isoformat()} 计", None
    return None, None, "无法识别的日期；可写 2026-12-31、2026/12/31 或 2026年12月 (unreadable date)"


def parse_phase(value: object) -> tuple[int | None, str | None]:
    """A phase from ``1``, ``第1期``, ``一期``, ``第二批``, ``首批``: ``(phase, why)``; blank ``(None, None)``."""
    text = _clean(value)
    if not text:
        return None, None
    if text in ("首批", "第一批次", "首期"):
        return 1, None
    m = re.fullmatch(r"(?:第)?\s*([0-9]+|[〇零一二两三四五六七八九十]+)\s*(?:期|批|批次|阶段)?", text)
    if m:
        word = m.group(1)
        if word.isdigit():
            n = int(word)
        elif word == "十":
            n = 10
        elif word.startswith("十"):
            n = 10 + _CN_DIGITS[word[1]]
        elif len(word) == 1:
            n = _CN_DIGITS[word]
        else:
            n = -1
        if 1 <= n <= 99:
            return n, None
    if re.fullmatch(r"\d+\.0+", text) and 1 <= int(float(text)) <= 99:
        return int(float(text)), None
    return None, "期次应为 1-99 的整数，如 1、第1期、一期 (phase must be a whole number 1-99)"


@dataclass(frozen=True)
class Target:
    """A target of the programme: ``count`` centres open by ``by`` (e.g. 24 by 2026-12-31)."""

    count: int
    by: dt.date
    label: str = ""

    @property
    def name(self) -> str:
        """The target in words (``2026-12-31 前建成 24 个``)."""
        return self.label or f"{self.by.isoformat()} 前建成 {self.count} 个"


def parse_target(text: str) -> Target:
    """A target from ``24@2026-12-31`` (count @ date, any date :func:`parse_date` reads).

    Raises
    ------
    InputDataError
        Not ``N@date``, a count outside 1-10000, or an unreadable date.
    """
    count, sep, when = str(text).partition("@")
    if not sep or not count.strip().isdigit():
        raise InputDataError(f"目标 {text!r} 应写作 个数@日期，如 24@2026-12-31 (target must be N@date)")
    n = int(count.strip())
    if not 1 <= n <= 10_000:
        raise InputDataError(f"目标个数 {n} 应在 1-10000 之间 (target count out of range)")
    day, _, why = parse_date(when)
    if day is None:
        raise InputDataError(f"目标日期 {when!r} 无法识别：{why or '为空'} (unreadable target date)")
    return Target(n, day)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, eq=False)
class Programme:
    """Centres with their place in the programme.

    Attributes
    ----------
    centres
        The sites and the functions each hosts (:class:`geo.access.centres.Centres`).
    table
        One row per centre, in :attr:`Centres.names` order: ``centre``, ``kind``,
        ``kind_zh``, ``sites``, ``functions_zh``, ``status``, ``status_zh``,
        ``target_date`` (:class:`datetime.date` or ``None``), ``phase`` (int).
    """

    centres: Centres
    table: pd.DataFrame

    @property
    def phases(self) -> tuple[int, ...]:
        """The phases, in order."""
        return tuple(sorted({int(p) for p in self.table["phase"]}))

    def site_values(self, column: str) -> np.ndarray:
        """A centre column of :attr:`table` repeated for each site."""
        return self.table[column].to_numpy(object)[self.centres.centre_index]


def _one_value(values: Sequence[object], name: str, what: str) -> object:
    """The one non-blank value a centre's sites give for a centre field (``None`` if none)."""
    given = list(dict.fromkeys(v for v in values if v is not None and v == v and v != ""))
    if len(given) > 1:
        shown = "、".join(str(v) for v in given)
        raise InputDataError(f"中心「{name}」的各站点{what}不一致（{shown}） (a centre's sites disagree on its {what})")
    return given[0] if given else None


def make_programme(
    sites: gpd.GeoDataFrame,
    functions: Mapping[str, str],
    *,
    default_status: str | None = None,
    default_phase: int | None = None,
) -> Programme:
    """A programme from a table of sites with their centre's status, target date and phase.

    Parameters
    ----------
    sites
        As :func:`geo.access.centres.make_centres` (``centre``, ``site``, ``kind``, ``role``,
        ``functions``) plus ``status`` (a word :func:`parse_status` reads), ``target_date``
        (a date or a cell :func:`parse_date` reads) and ``phase`` (int or a cell
        :func:`parse_phase` reads).  A centre's fields may be written on one of its sites
        only; sites that write them must agree.
    functions
        The functions analysed, key -> Chinese name.
    default_status, default_phase
        Used for a centre without a status / phase (``None``: that centre is an error).

    Raises
    ------
    InputDataError
        What :func:`make_centres` raises; an unknown status, an unreadable date or phase, a
        centre without a status or phase (and no default), sites of one centre that disagree.
    """
    centres = make_centres(sites, functions)
    n = len(centres.sites)
    raw = sites.reset_index(drop=True)
    status = np.empty(n, dtype=object)
    target = np.empty(n, dtype=object)
    phase = np.empty(n, dtype=object)
    names = centres.sites["centre"].to_numpy(object)
    for i in range(n):  # words of a table, one pass; no routing
        where = f"中心「{names[i]}」第 {i + 1} 个站点"
        word = raw["status"].iloc[i] if "status" in raw else ""
        status[i] = parse_status(word)
        if status[i] is None and _clean(word):
            allowed = "、".join(STATUSES.values())
            raise InputDataError(f"{where}的状态「{_clean(word)}」无效，可选: {allowed} (unknown status)")
        day, _, why = parse_date(raw["target_date"].iloc[i] if "target_date" in raw else None)
        if why:
            raise InputDataError(f"{where}的目标日期「{_clean(raw['target_date'].iloc[i])}」{why}")
        target[i] = day
        value = raw["phase"].iloc[i] if "phase" in raw else None
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            p, why = (int(value), None) if 1 <= int(value) <= 99 else (None, "期次应为 1-99 的整数 (phase 1-99)")
        else:
            p, why = parse_phase(value)
        if why:
            raise InputDataError(f"{where}的期次「{_clean(value)}」{why}")
        phase[i] = p
    index = centres.centre_index
    rows = []
    kinds = centres.sites["kind"].to_numpy(object)
    fn = centres.centre_functions()
    labels = np.array([functions[k] for k in centres.functions], dtype=object)
    for c, name in enumerate(centres.names):
        mine = np.flatnonzero(index == c)
        s = str(_one_value(list(status[mine]), name, "状态") or default_status or "") or None
        if s is None:
            raise InputDataError(f"中心「{name}」没有状态（规划/已批复/在建/已建成） (a centre needs a status)")
        p_value = _one_value(list(phase[mine]), name, "期次") or default_phase
        if p_value is None:
            raise InputDataError(f"中心「{name}」没有期次 (a centre needs a phase)")
        day_value = _one_value(list(target[mine]), name, "目标日期")
        rows.append(
            {
                "centre": name,
                "kind": kinds[mine[0]],
                "kind_zh": CENTRE_KINDS[kinds[mine[0]]],
                "sites": int(mine.size),
                "functions_zh": "、".join(labels[fn[c]]),
                "status": s,
                "status_zh": STATUSES[str(s)],
                "target_date": day_value,
                "phase": int(str(p_value)),
            }
        )
    return Programme(centres, pd.DataFrame(rows))


def programme_from_features(features: Sequence[Mapping], functions: Mapping[str, str]) -> Programme:
    """A web plan's candidates as a programme.

    Each candidate (``kind == "candidate"``, a GeoJSON point in WGS84) is a site; its
    ``properties`` may hold :data:`PROGRAMME_FIELDS` (``centre``, ``centre_kind``,
    ``site_role``, ``functions`` as ``elderly,medical`` or Chinese, ``status``,
    ``target_date`` ISO, ``phase``).  A candidate without them — every plan saved before the
    programme existed — is a single-site centre named after it (with its place in the plan when
    two share a name), with every function, status 规划 and phase 1; its target date stays open.

    Raises
    ------
    InputDataError
        No candidate, or what :func:`make_programme` raises (naming the centre).
    """
    rows = []
    # A candidate without a centre is a centre of its own, named after it: two such candidates
    # that share a name (two "选址 1" from two placement runs) stay two centres.
    unnamed = [
        _clean(f.get("name"))
        for f in features
        if f.get("kind") == "candidate" and not _clean((f.get("properties") or {}).get("centre"))
    ]
    for k, f in enumerate(features):
        if f.get("kind") != "candidate":
            continue
        props = f.get("properties") or {}
        name = _clean(f.get("name")) or f"候选点 {k + 1}"
        own = _clean(props.get("centre"))
        if not own:
            own = f"{name}（{k + 1}）" if unnamed.count(_clean(f.get("name"))) > 1 else name
        rows.append(
            {
                "centre": own,
                "site": name,
                "kind": props.get("centre_kind") or "",
                "role": props.get("site_role") or "",
                "functions": props.get("functions") or "",
                "status": props.get("status") or "",
                "target_date": props.get("target_date") or "",
                "phase": props.get("phase") if props.get("phase") not in (None, "") else "",
                "candidate": k,
                "geometry": shapely.geometry.shape(f["geometry"]),
            }
        )
    if not rows:
        raise InputDataError("方案中没有候选点，无法排工期 (the plan has no candidate sites)")
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)
    return make_programme(frame, functions, default_status="planned", default_phase=1)


# ------------------------------------------------------------------------ lateness


def lateness(programme: Programme, today: dt.date, *, due_soon_days: int = DUE_SOON_DAYS) -> pd.DataFrame:
    """The programme's table with each centre's lateness on ``today``.

    ``open`` (已建成) whatever its date; ``overdue`` (逾期) not open and the target date
    passed; ``due_soon`` (临近期限) not open and the target at most ``due_soon_days`` away
    (today included); ``on_track`` (按期推进) later; ``no_date`` (未定期限) without a target.

    Returns
    -------
    pandas.DataFrame
        :attr:`Programme.table` with ``lateness``, ``lateness_zh``, ``days_left`` (target
        minus today, negative when overdue; NaN without a date) and ``days_late``
        (``max(0, -days_left)`` for centres not open).
    """
    table = programme.table.copy()
    days = np.array(
        [np.nan if d is None else float((d - today).days) for d in table["target_date"]], dtype=float
    ).reshape(-1)
    is_open = (table["status"] == "open").to_numpy()
    key = np.select(
        [is_open, np.isnan(days), days < 0, days <= due_soon_days],
        ["open", "no_date", "overdue", "due_soon"],
        default="on_track",
    )
    table["lateness"] = key
    table["lateness_zh"] = [LATENESS[k] for k in key]
    table["days_left"] = days
    table["days_late"] = np.where(~is_open & (days < 0), -days, 0.0)
    return table


def progress(programme: Programme, targets: Sequence[Target], today: dt.date) -> pd.DataFrame:
    """Progress against each target on ``today``.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``target`` (in words), ``by``, ``count``, ``open``,
        ``construction``, ``approved``, ``planned`` (centres per status today),
        ``scheduled`` (centres whose target date is on or before ``by``, open or not),
        ``gap`` (target minus open, at least 0), ``days_left`` (to ``by``), ``overdue``
        (centres past their own date, not open), ``verdict`` and ``verdict_zh``:
        ``met`` (达成) open >= count; ``missed`` (未达成) the date passed; ``scheduled``
        (计划可达成) enough centres are due by then; ``short`` (计划数不足) otherwise.
    """
    table = lateness(programme, today)
    counts = table["status"].value_counts()
    rows = []
    for t in targets:
        scheduled = int(sum(d is not None and d <= t.by for d in table["target_date"]))
        opened = int(counts.get("open", 0))
        if opened >= t.count:
            verdict = "met"
        elif today > t.by:
            verdict = "missed"
        elif scheduled >= t.count:
            verdict = "scheduled"
        else:
            verdict = "short"
        rows.append(
            {
                "target": t.name,
                "by": t.by,
                "count": t.count,
                **{s: int(counts.get(s, 0)) for s in ("open", "construction", "approved", "planned")},
                "scheduled": scheduled,
                "gap": max(t.count - opened, 0),
                "days_left": (t.by - today).days,
                "overdue": int((table["lateness"] == "overdue").sum()),
                "verdict": verdict,
                "verdict_zh": {"met": "达成", "missed": "未达成", "scheduled": "计划可达成", "short": "计划数不足"}[
                    verdict
                ],
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ coverage


def phase_stages(programme: Programme) -> dict[str, np.ndarray]:
    """Sites built at each stage: the centres open today, then after phase 1, 2, ... (cumulative)."""
    status = programme.site_values("status")
    phase = programme.site_values("phase").astype(int)
    stages = {"已建成（现状）": status == "open"}
    for p in programme.phases:
        stages[f"第{p}期后"] = phase <= p
    return stages


def programme_coverage(
    acc: Accessibility, graph: CostGraph, programme: Programme, *, town_speed_kmh: float | None = None
) -> pd.DataFrame:
    """Coverage per function after each phase (cumulative) and for the centres open today.

    One routing of every site (:func:`geo.access.centres.site_reach`); a site counts for a
    function only where it hosts it; the existing facilities are the baseline (``现状设施``).
    A hub's town centre (中心辐射) is reached in the town circle's mode and minutes
    (:func:`geo.access.life_circle.town_reach`: electric bicycle, or ``town_speed_kmh``), its
    stations and the other centres in ``graph``'s mode; ``town_reach`` says which.

    Returns
    -------
    pandas.DataFrame
        As :func:`geo.access.centres.centre_coverage`, with a first stage ``现状设施``
        (existing facilities only), ``phase`` (0 for it and for the open centres) and
        ``stage_key`` (``existing``, ``open``, ``phase``).
    """
    reach = site_reach(acc, graph, programme.centres, hub=town_reach(speed_kmh=town_speed_kmh))
    stages = {"现状设施": np.zeros(len(programme.centres.sites), dtype=bool), **phase_stages(programme)}
    table = centre_coverage(acc, programme.centres, reach, stages)
    phase_of = {s: (int(s[1:-2]) if s.startswith("第") else 0) for s in stages}
    key_of = {s: ("existing" if k == 0 else "open" if k == 1 else "phase") for k, s in enumerate(stages)}
    table.insert(1, "phase", table["stage"].map(phase_of))
    table.insert(2, "stage_key", table["stage"].map(key_of))
    return table


def project_with_centres(project, programme: Programme, *, up_to_phase: int | None = None):
    """``project`` with the programme's centres among its facilities, site by site and function by function.

    By default the centres open today (status 已建成); with ``up_to_phase`` every centre of that
    phase or an earlier one (a scenario: "after phase 2").  Each site becomes one facility per
    function it hosts (:func:`geo.access.centres.centre_facilities`, ``source`` 邻里中心), so
    coverage and placement (:func:`geo.workflows.load_analysis`, ``plan_centres``) count a
    linked or hub centre only where the site hosting a function is reached.

    Returns
    -------
    geo.project.Project
        A copy; the project itself is unchanged.
    """
    from geo.access.centres import centre_facilities

    mask = centre_mask(programme, up_to_phase=up_to_phase)
    added = centre_facilities(programme.centres, mask).to_crs(project.facilities.crs)
    labels = dict(project.standard.functions)
    added = added.assign(
        facility_id=[f"centre-{k + 1}" for k in range(len(added))],
        category="邻里中心",
        function_zh=added["function"].map(labels),
        type_zh="",
    )
    facilities = pd.concat([project.facilities, added[[c for c in added.columns if c != "centre"]]], ignore_index=True)
    return dataclasses.replace(project, facilities=gpd.GeoDataFrame(facilities, crs=project.facilities.crs))


# h-rural2 (issue 21): a counted hub's town centre reaches in the town circle's mode, as in programme_coverage.


@dataclass(frozen=True, eq=False)
class TownReach:
    """Walking times with the counted town centres' reach folded in (:func:`with_town_reach`).

    Attributes
    ----------
    acc
        The accessibility, its :attr:`~geo.access.coverage.Accessibility.reached` set where a
        counted town centre reaches (unchanged when none is counted).
    towns
        Counted town centres (hubs' main sites).
    text_zh, text_en
        The sentence said beside the figures (empty when no town centre is counted).
    """

    acc: Accessibility
    towns: int
    text_zh: str
    text_en: str


def with_town_reach(
    acc: Accessibility,
    graph: CostGraph,
    programme: Programme,
    *,
    up_to_phase: int | None = None,
    town_speed_kmh: float | None = None,
) -> TownReach:
    """``acc`` with the counted hubs' town centres reaching in the town circle's mode and minutes.

    :func:`project_with_centres` adds every counted site as a walking facility; a hub's town
    centre (中心辐射 main site) serves the whole town, so, as :func:`programme_coverage` does, it
    also covers the residents within the town circle's reach
    (:func:`geo.access.life_circle.town_reach`: TD/T 1062-2021 乡集镇层级, electric bicycle, or
    ``town_speed_kmh``) for the functions it hosts.  ``acc`` should be the walking times of the
    project with the centres (its demand points are the ones judged).

    Raises
    ------
    InputDataError
        A speed outside 1-60 km/h.
    """
    from geo.access.centres import town_sites

    hub = town_reach(speed_kmh=town_speed_kmh)
    mask = centre_mask(programme, up_to_phase=up_to_phase) & town_sites(programme.centres)
    towns = int(mask.sum())
    if not towns:
        return TownReach(acc, 0, "", "")
    reached = town_covered(acc, graph, programme.centres, hub, mask)
    merged = {f: (reached[f] | acc.reached[f]) if acc.reached and f in acc.reached else reached[f] for f in reached}
    text_zh = f"中心辐射的镇级中心 {towns} 处按{hub.note_zh}计入覆盖，其服务站点与其他中心按步行"
    text_en = f"{towns} hub town centre(s) counted within {hub.note_en}; their stations and other centres on foot"
    out = dataclasses.replace(acc, reached=merged, reached_note=text_zh)
    return TownReach(out, towns, text_zh, text_en)


# h-centreweb (issue 21): which centres a placement counts, said on the page and on its print.


def centre_mask(programme: Programme, *, up_to_phase: int | None = None) -> np.ndarray:
    """bool per site: counted as built by :func:`project_with_centres`.

    ``up_to_phase`` ``None``: the sites of the centres open today (已建成); else the sites of
    every centre of that phase or an earlier one.
    """
    if up_to_phase is None:
        return np.asarray(programme.site_values("status") == "open", dtype=bool)
    return np.asarray(programme.site_values("phase").astype(int) <= int(up_to_phase), dtype=bool)


def counted_centres(programme: Programme, *, up_to_phase: int | None = None) -> gpd.GeoDataFrame:
    """The sites :func:`project_with_centres` adds as facilities, one row per site, in WGS84.

    Returns
    -------
    geopandas.GeoDataFrame
        ``centre``, ``site``, ``kind``, ``kind_zh``, ``role``, ``role_zh``, ``functions``
        (keys joined by ``,``), ``functions_zh``, ``status``, ``status_zh``, ``phase``,
        ``candidate`` (the feature's index in a web plan, -1 for a ledger's row).
    """
    from geo.access.centres import SITE_ROLES

    mask = centre_mask(programme, up_to_phase=up_to_phase)
    centres = programme.centres
    sites = centres.sites[mask]
    keys = np.asarray(centres.functions, dtype=object)
    hosted = [",".join(keys[row]) for row in centres.hosts[mask]]
    status = programme.site_values("status")[mask]
    out = gpd.GeoDataFrame(
        {
            "centre": sites["centre"].astype(str).to_numpy(object),
            "site": sites["site"].astype(str).to_numpy(object),
            "kind": sites["kind"].to_numpy(object),
            "kind_zh": [CENTRE_KINDS[k] for k in sites["kind"]],
            "role": sites["role"].to_numpy(object),
            "role_zh": [SITE_ROLES[r] for r in sites["role"]],
            "functions": hosted,
            "functions_zh": sites["functions_zh"].to_numpy(object),
            "status": status,
            "status_zh": [STATUSES[str(v)] for v in status],
            "phase": programme.site_values("phase")[mask].astype(int),
            "candidate": sites["candidate"].to_numpy(np.int64) if "candidate" in sites else np.full(len(sites), -1),
        },
        geometry=sites.geometry.to_numpy(),
        crs=sites.crs,
    )
    return out.to_crs(WGS84)


#: Centres named one by one in :func:`counted_centres_text` (a print's line stays readable).
CENTRES_NAMED = 8
#: How a placement counts a plan's centres: the open ones, those up to a phase, or none.
CENTRE_MODES = {"open": "已建成的", "phase": "第 {p} 期及以前的", "none": ""}


def counted_centres_text(counted: Sequence[Mapping], *, mode: str, phase: int | None = None) -> str:
    """One sentence for a print or a table: which centres were counted as existing, site by site.

    ``counted`` are rows of :func:`counted_centres` (as records); ``mode`` a key of
    :data:`CENTRE_MODES` (``none``: nothing counted, said so).
    """
    if mode == "none":
        return "方案中的邻里中心未计入现有设施"
    which = CENTRE_MODES.get(mode, "").format(p=phase)
    if not counted:
        return f"方案中没有{which}邻里中心，未计入"
    by_centre: dict[str, list[Mapping]] = {}
    for row in counted:
        by_centre.setdefault(str(row["centre"]), []).append(row)
    parts = []
    for name, rows in list(by_centre.items())[:CENTRES_NAMED]:
        kind = str(rows[0].get("kind_zh", ""))
        if len(rows) == 1:
            parts.append(f"{name}（{kind}：{rows[0]['functions_zh']}）")
        else:
            sites = "；".join(f"{r['site']} {r['functions_zh']}" for r in rows)
            parts.append(f"{name}（{kind}，{len(rows)} 处站点：{sites}）")
    more = f"；等 {len(by_centre)} 个" if len(by_centre) > CENTRES_NAMED else ""
    return f"计入方案中{which}邻里中心 {len(by_centre)} 个（逐站点按其功能计为现有设施）：" + "；".join(parts) + more
