"""A new study area from a planner's files: the project file written beside them, ready to load.

The web page's 新建研究区 and anyone scripting a county call :func:`write_project` with the files
already in one folder; it writes ``<folder>/project.toml`` in the format of ``data/projects/*.toml``
(:mod:`geo.project`), checked, so that :func:`geo.project.load_project` builds it the same way as
a bundled one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from geo.access.standards import load_standard
from geo.errors import InputDataError
from geo.io.boundaries import county

__all__ = ["BUNDLED_COUNTIES", "BUNDLED_COUNTIES_EN", "NETWORK_SUFFIXES", "safe_file_name", "write_project"]

#: The counties whose boundaries ship (code -> name), offered first.
BUNDLED_COUNTIES = {"350521": "惠安县", "350524": "安溪县", "350525": "永春县"}
#: Their English names.
BUNDLED_COUNTIES_EN = {"350521": "Hui'an County", "350524": "Anxi County", "350525": "Yongchun County"}
#: Street network files a new study area may be built from.
NETWORK_SUFFIXES = (".osm.pbf", ".pbf", ".osm")
MAX_NAME_CHARS = 100


def safe_file_name(name: str, default: str) -> str:
    """A planner's file name reduced to letters, digits, CJK, ``.``, ``-``, ``_`` (no folders)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    clean = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", base).lstrip(".")
    return clean[:120] or default


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_project(
    folder: Path,
    *,
    name: str,
    network: str,
    boundary: str = "none",
    facilities: str = "none",
    demand: str = "none",
    facilities_system: str | None = None,
    demand_system: str | None = None,
    functions: Sequence[str] = (),
    categories: str | None = None,
) -> Path:
    """Write ``folder/project.toml`` for files in ``folder``; return its path.

    Parameters
    ----------
    folder
        Where the files are (and the project file goes).
    name
        The study area's name as planners call it.
    network
        File name of the street network in ``folder`` (``.osm.pbf``/``.osm``).
    boundary
        ``county:<code>`` of a bundled county, a polygon file name in ``folder``, or ``none``.
    facilities, demand
        Ledger file names in ``folder``, ``osm``/``buildings`` (from the network's file) or ``none``.
    facilities_system, demand_system
        Declared coordinate systems; ``None``: detected against the streets when loaded.
    functions
        Functions beyond the six ("1+6+X"), by name (``["安有所护"]``).
    categories
        File name in ``folder`` of the county's category table (类别, 服务功能, 设施类型).

    Raises
    ------
    InputDataError
        A missing name or file, an unknown county, a network that is not an OSM file.
    """
    folder = Path(folder)
    name = " ".join(str(name or "").split())[:MAX_NAME_CHARS]
    if not name:
        raise InputDataError("请给研究区起个名字 (the study area needs a name)")
    if not network.lower().endswith(NETWORK_SUFFIXES):
        raise InputDataError(
            f"路网文件应为 OpenStreetMap 数据 {'/'.join(NETWORK_SUFFIXES)}，收到 {network} "
            f"(network must be an OSM file)"
        )
    files = {"network": network}
    if boundary.startswith("county:"):
        county(boundary.removeprefix("county:"))  # an unknown county is an error naming the bundled ones
    elif boundary != "none":
        files["boundary"] = boundary
    if facilities not in ("osm", "none"):
        files["facilities"] = facilities
    if demand not in ("buildings", "none"):
        files["demand"] = demand
    if categories:
        files["categories"] = categories
    functions = [" ".join(str(f).split()) for f in functions if str(f).strip()]
    load_standard().with_extra_functions(functions)  # a bad name is refused before anything is written
    for part, file_name in files.items():
        if not (folder / file_name).is_file():
            raise InputDataError(f"研究区文件 {file_name}（{part}）不存在 (file missing)")
    lines = [
        "# 由页面“新建研究区”生成 (written by the page's new study area)",
        f"name = {_toml(name)}",
        f"boundary = {_toml(boundary)}",
        f"network = {_toml(network)}",
        f"facilities = {_toml(facilities)}",
        f"demand = {_toml(demand)}",
        'profile = "walk"',
    ]
    if facilities_system:
        lines.append(f"facilities_system = {_toml(facilities_system)}")
    if demand_system:
        lines.append(f"demand_system = {_toml(demand_system)}")
    if functions:
        lines.append(f"functions = [{', '.join(_toml(f) for f in functions)}]")
    if categories:
        lines.append(f"categories = {_toml(categories)}")
    path = folder / "project.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
