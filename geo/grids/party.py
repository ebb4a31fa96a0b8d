"""Compound party coverage (小区党组织覆盖): from the compound ledger's columns, the share of compounds
with a party branch per community, town and county, and the compounds without one.

The ledger says per compound whether a branch covers it (是否成立党支部: 是/否/已成立/未成立, or
the covering branch's name — one 联合党支部 may cover several compounds), its party members
(党员数), its property company (物业公司: a name, or 无) and owners' committee (业委会).  A cell
that says neither yes nor no is *unknown*: counted apart and listed with the ledger's line,
never guessed.  Rates are compounds covered / compounds with a known answer (e.g. Hui'an: 39
branches over 78 compounds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputDataError
from geo.io.search import normalise
from geo.io.sheets import header_key
from geo.io.tables import parse_count

logger = logging.getLogger(__name__)

__all__ = ["PARTY_FIELDS", "PARTY_HEADERS", "PartyCoverage", "party_coverage", "yes_no"]

#: Ledger columns per field (compared by header key).
PARTY_FIELDS: dict[str, tuple[str, ...]] = {
    "branch": (
        "是否成立党支部",
        "是否建立党支部",
        "是否成立党组织",
        "是否建立党组织",
        "有无党支部",
        "党支部",
        "所属党支部",
        "覆盖党支部",
        "党组织",
        "branch",
    ),
    "members": ("党员数", "党员人数", "党员数量", "在册党员数", "members"),
    "property": ("物业公司", "物业", "物业服务企业", "物业管理单位", "有无物业", "property"),
    "committee": ("业委会", "业主委员会", "是否成立业委会", "有无业委会", "committee"),
}
_YES = ("是", "有", "已成立", "已建立", "已建", "成立", "建立", "√", "✓", "1", "yes", "y", "true")
_NO = ("否", "无", "没有", "未成立", "未建立", "未建", "暂无", "×", "✗", "0", "no", "n", "false", "/", "-", "—")
#: Chinese headers of the rate table.
PARTY_HEADERS = {
    "level": "层级",
    "code": "编码",
    "name": "名称",
    "compounds": "小区数 (个)",
    "known": "已填写 (个)",
    "covered": "有党支部 (个)",
    "coverage_pct": "党组织覆盖率 (%)",
    "branches": "党支部数 (个)",
    "members": "党员数 (人)",
    "with_property": "有物业 (个)",
    "property_pct": "物业覆盖率 (%)",
    "with_committee": "有业委会 (个)",
    "committee_pct": "业委会覆盖率 (%)",
}
LEVEL_ZH = {"county": "县区/全域", "town": "镇街", "community": "社区/村"}


def yes_no(value: object) -> tuple[bool | None, str]:
    """A ledger cell as yes / no / unknown (``None``), and the name it gives (a branch or company).

    ``是``, ``已成立``, ``√`` -> yes; ``否``, ``无``, ``未成立``, ``×`` -> no; a blank -> unknown;
    any other text (``阳光花园党支部``, ``万科物业``) -> yes, with that text as the name.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None, ""
    text = normalise(value)
    if not text or text in ("nan", "none"):
        return None, ""
    if text in _YES:
        return True, ""
    if text in _NO or text.startswith(("未", "无", "没有", "否")):
        return False, ""
    return True, str(value).strip()


@dataclass(frozen=True)
class PartyCoverage:
    """Party coverage of a compound ledger.

    Attributes
    ----------
    compounds
        The compounds (their geometry and ``name``) with ``has_branch`` (True / False / None),
        ``branch_name``, ``members``, ``has_property``, ``has_committee``, ``community``,
        ``town``, ``line``.
    rates
        One row per county/town/community: the columns of :data:`PARTY_HEADERS`.
    unknown
        ``line``, ``name``, ``column``, ``value`` of the cells that said neither yes nor no.
    columns
        Field -> the ledger's column used.
    """

    compounds: gpd.GeoDataFrame
    rates: pd.DataFrame
    unknown: pd.DataFrame
    columns: dict[str, str]

    @property
    def without_branch(self) -> gpd.GeoDataFrame:
        """The compounds the ledger says no branch covers (unknown ones are not among them)."""
        return self.compounds[self.compounds["has_branch"].eq(False)]


def _find(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    keys = {header_key(c): c for c in columns}
    return next((keys[header_key(a)] for a in aliases if header_key(a) in keys), None)


def party_coverage(
    compounds: gpd.GeoDataFrame,
    *,
    units: dict[str, gpd.GeoDataFrame] | None = None,
    area_name: str = "全域",
    columns: dict[str, str] | None = None,
) -> PartyCoverage:
    """The party coverage of the compounds per community, town and the whole area.

    Parameters
    ----------
    compounds
        The compound ledger (:func:`geo.access.compounds.residents_from_compounds`: ``name``,
        optional ``community``, ``line``, and the ledger's own columns), any CRS.
    units
        Optional ``{"town": polygons, "community": polygons}`` (``code``, ``name``): a compound is
        counted in the unit its point lies in; without them, communities come from the ledger's
        ``community`` column and there is no town level.
    area_name
        The name of the whole area's row.
    columns
        The planner's choice of column per field (``branch``, ``members``, ``property``, ``committee``).

    Raises
    ------
    InputDataError
        No branch column in the ledger (the columns found are listed).
    """
    given = [str(c) for c in compounds.columns if c != compounds.geometry.name]
    found: dict[str, str | None] = {f: _find(given, aliases) for f, aliases in PARTY_FIELDS.items()}
    found.update({f: c for f, c in (columns or {}).items() if c})
    for fld, chosen in (columns or {}).items():
        if chosen and chosen not in given:
            raise InputDataError(
                f"小区台账中没有列「{chosen}」（指定为 {fld}）；现有列: {'、'.join(given)} (no such column)"
            )
    if found["branch"] is None:
        raise InputDataError(
            f"小区台账中没有党支部列（是否成立党支部/党支部/所属党支部）；现有列: {'、'.join(given)} "
            f"(the compound ledger needs a party-branch column)"
        )
    frame = compounds.reset_index(drop=True)
    lines = frame["line"].to_numpy() if "line" in frame.columns else np.arange(1, len(frame) + 1)
    names = frame["name"].astype(str).to_numpy() if "name" in frame.columns else lines.astype(str)
    out = gpd.GeoDataFrame({"name": names, "line": lines}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    unknown = []
    for fld, target in (("branch", "has_branch"), ("property", "has_property"), ("committee", "has_committee")):
        column = found[fld]
        if column is None:
            out[target] = None
            continue
        answers = [yes_no(v) for v in frame[column].to_numpy()]
        out[target] = pd.array([a for a, _ in answers], dtype="boolean")
        if fld == "branch":
            out["branch_name"] = [n for _, n in answers]
        unknown += [
            {"line": int(lines[k]), "name": names[k], "column": column, "value": str(frame[column].iat[k])}
            for k, (a, _) in enumerate(answers)
            if a is None
        ]
    if found["members"] is not None:
        out["members"] = [parse_count(v)[0] for v in frame[found["members"]].to_numpy()]
        out["members"] = pd.to_numeric(out["members"], errors="coerce")
    else:
        out["members"] = np.nan
    out["community"] = frame["community"].astype(str).to_numpy() if "community" in frame.columns else ""
    out["community_code"] = ""
    out["town"], out["town_code"] = "", ""
    pts = shapely.point_on_surface(out.geometry.to_numpy())
    for level, layer in (units or {}).items():
        layer = layer.to_crs(out.crs)
        at, hit = shapely.STRtree(layer.geometry.to_numpy()).query(pts, predicate="within")
        codes = np.full(len(out), "", dtype=object)
        labels = np.full(len(out), "", dtype=object)
        codes[at] = layer["code"].astype(str).to_numpy()[hit]
        labels[at] = layer["name"].astype(str).to_numpy()[hit] if "name" in layer.columns else codes[at]
        out[f"{level}_code"], out[level] = codes, labels
    by_community = np.where(out["community_code"] != "", out["community_code"], out["community"])
    rates = pd.concat(
        [
            _rates(out.assign(_key="", _name=area_name), "county"),
            _rates(out.assign(_key=out["town_code"], _name=out["town"])[out["town"] != ""], "town"),
            _rates(out.assign(_key=by_community, _name=out["community"])[out["community"] != ""], "community"),
        ],
        ignore_index=True,
    ).infer_objects()
    whole = rates.iloc[0]
    logger.info(
        "party coverage: %d compounds, %d covered of %d known (%.1f%%), %d unknown",
        len(out),
        int(whole["covered"]),
        int(whole["known"]),
        float(whole["coverage_pct"]) if np.isfinite(whole["coverage_pct"]) else float("nan"),
        len(unknown),
    )
    return PartyCoverage(
        out,
        rates[list(PARTY_HEADERS)],
        pd.DataFrame(unknown, columns=["line", "name", "column", "value"]),
        {f: c for f, c in found.items() if c is not None},
    )


def _rates(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=list(PARTY_HEADERS))
    branch = frame["has_branch"].astype("boolean")
    prop = frame["has_property"].astype("boolean")
    committee = frame["has_committee"].astype("boolean")
    named = frame["branch_name"].where(frame["branch_name"] != "") if "branch_name" in frame.columns else None
    data = pd.DataFrame(
        {
            "_key": frame["_key"].to_numpy(),
            "_name": frame["_name"].to_numpy(),
            "compounds": 1,
            "known": branch.notna().to_numpy(int),
            "covered": branch.fillna(False).to_numpy(int),
            "members": frame["members"].to_numpy(float),
            "with_property": prop.fillna(False).to_numpy(int),
            "property_known": prop.notna().to_numpy(int),
            "with_committee": committee.fillna(False).to_numpy(int),
            "committee_known": committee.notna().to_numpy(int),
            "branch_named": named.to_numpy(object) if named is not None else None,
        }
    )
    grouped = data.groupby(["_key", "_name"], sort=True)
    table = grouped[
        ["compounds", "known", "covered", "with_property", "property_known", "with_committee", "committee_known"]
    ].sum()
    table["members"] = grouped["members"].sum(min_count=1)
    # branches: distinct names where the ledger names them, else one per covered compound
    named_count = grouped["branch_named"].nunique()
    unnamed = data[data["covered"].astype(bool) & data["branch_named"].isna()].groupby(["_key", "_name"]).size()
    table["branches"] = named_count.add(unnamed, fill_value=0).reindex(table.index, fill_value=0).astype(int)

    def pct(a: str, b: str) -> pd.Series:
        return (100.0 * table[a] / table[b].where(table[b] > 0)).astype(float)

    table["coverage_pct"] = pct("covered", "known")
    table["property_pct"] = pct("with_property", "property_known")
    table["committee_pct"] = pct("with_committee", "committee_known")
    table = table.reset_index().rename(columns={"_key": "code", "_name": "name"})
    table["level"] = LEVEL_ZH[level]
    return table[list(PARTY_HEADERS)]
