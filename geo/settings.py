"""Documented defaults of the core: travel profiles, budgets, widths and tolerances.

Every number a planner may be asked to defend lives here, with its source, so that
no speed, budget or width is a literal somewhere in the code.  Functions take these
as keyword defaults; the web app and the scripts may pass other values.

Units: km/h for speeds a planner types, metres, seconds and minutes as named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "DATA_DIR",
    "DEFAULT_BUDGETS_MIN",
    "DEFAULT_CACHE_DIR",
    "DEFAULT_PROFILE",
    "PROFILES",
    "STREET_BUFFER_M",
    "TravelProfile",
    "default_cache_dir",
    "get_profile",
    "network_cache_dir",
]

#: Default walking-time budgets of a service area: the 5-, 10- and 15-minute life
#: circles of GB 50180-2018, table 4.0.1.
DEFAULT_BUDGETS_MIN: tuple[float, ...] = (5.0, 10.0, 15.0)

#: Walking times to the nearest facility are searched this far (minutes) even when
#: every budget is shorter, so that maps can show "18 minutes" rather than "beyond
#: the budget"; farther is reported as not reached within this time.
ACCESS_SEARCH_MIN: float = 30.0

#: Side of the square cells of the gap map (metres): about two urban blocks, small
#: enough to point at a street corner, large enough to hold several buildings.
GAP_CELL_M: float = 200.0

#: A page polling a background job (placement) gives up after this many seconds and
#: says so, rather than wait forever (docs/bad-inputs.md F4).
JOB_POLL_LIMIT_S: float = 600.0

#: Gap cells drawn on the web map per function (the worst first).
GAP_CELLS_SHOWN: int = 20

#: Share of an area unit's residents that must lie within a facility type's service
#: radius for the standard check to pass (percent).  GB 50180-2018 gives the radius
#: as the farthest walk for residents of the life circle, so the literal reading is
#: every resident (100 %); a county may configure a lower share (e.g. 90).
STANDARD_REQUIRED_COVERAGE_PCT: float = 100.0

#: Geometry drawn in the browser (docs/bad-inputs.md G2, G8): deepest JSON nesting accepted
#: (a MultiPolygon needs 4), most positions and holes of one drawn geometry.  A
#: hand-drawn service area has tens to hundreds of vertices; 20,000 leaves room for
#: an imported outline.
MAX_JSON_DEPTH: int = 64
MAX_DRAWN_VERTICES: int = 20_000
MAX_DRAWN_HOLES: int = 500
#: Work bounds of a drawn area (issue 19).  Repairing a self-intersecting outline costs with the
#: square of its crossings: at most 5,000 vertices are repaired automatically.  A comparison first
#: simplifies the drawn area at 1 m (finer than a planner draws or a map shows; the areas change by
#: well under 0.1 %), then overlays at most 5,000 vertices with the computed area: a comparison is
#: answered in bounded work whatever the outline.
MAX_REPAIR_VERTICES: int = 5_000
COMPARE_SIMPLIFY_M: float = 1.0
MAX_COMPARE_VERTICES: int = 5_000

#: Drawn geometry must lie within this distance of the study area (metres): a
#: candidate just outside the county line is fine, one in another province is a
#: swapped coordinate.
STUDY_AREA_MARGIN_M: float = 5_000.0

#: Largest budget accepted anywhere (minutes).  A 15-minute life circle is the
#: planning target; 120 minutes is generous for cycling catchments and guards
#: against ``--minutes 1e9`` (docs/bad-inputs.md C1) filling memory.
MAX_BUDGET_MIN: float = 120.0

#: Half-width of the street-following service-area polygon: each reached street
#: piece is buffered by this many metres on each side (the osmnx isochrone example
#: uses 25 m for edges).  It stands for the frontage a street serves; Chinese
#: compounds are reached through their internal paths, which are edges themselves.
STREET_BUFFER_M: float = 25.0

#: Spacing of the sample points along streets that carry the precomputed polygon
#: cells (see ``geo.network.street_cells``): the cut of a partially reached street in a
#: polygon is placed within half of this of the exact cut.
CELL_SPACING_M: float = 5.0

#: Most processes building a network's street cells at once: one per core, up to this
#: many (each holds one spatial tile, a few hundred megabytes; the cells are identical
#: whatever the number).
CELL_BUILD_WORKERS: int = 4

#: Street cells of a network whose whole set would take more than this on disk (about
#: 150 bytes per sample: a county of 300,000 nodes needs 1.3 GB) are not built whole by
#: a job that names its streets (service areas of given facilities): it builds the
#: cells of the streets it reaches, identical to the whole set's, each time, and
#: caches nothing.  The web app, whose candidates may go anywhere, builds the whole
#: set once and keeps it on disk.
CELL_CACHE_MAX_MB: float = 300.0

#: A point (facility, building, drawn site) farther than this from every walkable
#: street is reported as not snapped ("距道路过远") instead of being moved silently.
MAX_SNAP_DIST_M: float = 300.0

#: The study area is clipped with this margin so that walks that leave the area
#: and come back, and facilities just outside it, are kept.  2 km is a 15-minute
#: walk at the default speed (1 km) with a wide margin.
CLIP_BUFFER_M: float = 2000.0

#: Edges with a computed length below this are given this length (two OSM nodes at
#: the same position); a zero weight would read as "no edge" in a sparse matrix.
MIN_EDGE_LENGTH_M: float = 0.01

#: Share of walkable ways that may reference nodes missing from the extract before
#: the extract is refused as badly clipped (docs/bad-inputs.md N1).  Bounding-box extracts
#: always cut a few ways at their border; the bundled Helsinki extract cuts 7 %.
MAX_INCOMPLETE_WAY_SHARE: float = 0.25

#: Largest GraphML file read (bytes), docs/bad-inputs.md U15.
MAX_GRAPHML_BYTES: int = 512 * 1024 * 1024

#: Memory one batch of the shortest-path engine may use for its dense distance
#: block (bytes).  Sources are processed in chunks so the peak stays bounded; small
#: blocks also stay in the allocator's reused heap (no fresh pages to fault in for
#: every block), which on the 50k-node benchmark city makes 4 MB blocks faster than
#: one call over all sources.
DIJKSTRA_CHUNK_BYTES: int = 4 * 1024 * 1024
#: ... but never fewer sources per block than this (each call has a fixed cost).
DIJKSTRA_MIN_CHUNK: int = 8


def _find_data_dir() -> Path:
    """The folder of the bundled data, in a checkout and in an installed wheel alike.

    The repository keeps the data at its top (``data/``, beside ``geo/``); a wheel
    installs the same folder as ``geo/data`` (``[tool.setuptools.package-dir]`` in
    ``pyproject.toml``), so an installed ``linli`` finds it with no checkout around.
    """
    package = Path(__file__).resolve().parent
    installed = package / "data"
    return installed if installed.is_dir() else package.parent / "data"


#: The bundled data (standards, facility tags, boundaries, project files): the one root
#: every module finds its data files under.
DATA_DIR: Path = _find_data_dir()


def default_cache_dir() -> Path:
    """The user's cache folder for Linli, outside any checkout.

    ``~/.cache/linli`` on Linux, ``%LOCALAPPDATA%\\linli\\Cache`` on Windows,
    ``~/Library/Caches/linli`` on macOS (the platform's convention, by ``platformdirs``).
    The faces (web app, scripts, the ``linli`` command) let ``LINLI_CACHE_DIR``
    override it and pass the folder in; the core reads no environment variable.
    """
    from platformdirs import user_cache_path

    return user_cache_path("linli", appauthor=False)


def network_cache_dir(cache_root: Path | str) -> Path:
    """The folder of cached networks under a cache root (what ``cache_dir=`` takes).

    Parameters
    ----------
    cache_root
        The Linli cache folder (:func:`default_cache_dir` or ``LINLI_CACHE_DIR``);
        online downloads are cached beside it, in ``osmnx/``.
    """
    return Path(cache_root) / "networks"


#: Where built networks and street cells are cached (keyed by source and settings),
#: unless a face passes another folder.
DEFAULT_CACHE_DIR: Path = network_cache_dir(default_cache_dir())

#: ``highway=*`` values a pedestrian may use (docs/bad-inputs.md N3: nothing else becomes an
#: edge).  Motorways and their links are excluded; trunk roads are kept because many
#: Chinese county roads are tagged trunk and have footpaths.  ``cycleway`` and
#: ``bridleway`` are walkable only where ``foot=yes|designated|permissive``.
WALKABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "footway",
        "pedestrian",
        "steps",
        "path",
        "track",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "road",
        "corridor",
        "elevator",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "trunk",
        "trunk_link",
        "trail",
    }
)
FOOT_ONLY_IF_ALLOWED: frozenset[str] = frozenset({"cycleway", "bridleway"})
FOOT_ALLOWED: frozenset[str] = frozenset({"yes", "designated", "permissive"})
FOOT_FORBIDDEN: frozenset[str] = frozenset({"no", "private", "use_sidepath"})
ACCESS_FORBIDDEN: frozenset[str] = frozenset({"no", "private"})


@dataclass(frozen=True)
class TravelProfile:
    """How one kind of traveller moves on the network.

    Attributes
    ----------
    name
        Key used in the API and on the command line.
    label_zh
        Name shown to planners.
    speed_kmh
        Speed on ordinary streets.
    class_speed_kmh
        Speeds that differ by ``highway`` class (for example steps).
    access_speed_kmh
        Speed of the leg from a point (facility, home) to the street.
    respects_oneway
        Whether ``oneway=*`` restricts this traveller (cyclists), never pedestrians.
    forbidden_highways
        Classes this traveller cannot use at all.
    label_en
        English name (empty: the Chinese one is shown).
    min_speed_kmh
        Floor applied to every speed (docs/bad-inputs.md N7: no zero speed reaches the engine).
    source
        Where the figures come from, to show beside results.
    """

    name: str
    label_zh: str
    speed_kmh: float
    access_speed_kmh: float
    source: str
    class_speed_kmh: Mapping[str, float] = field(default_factory=dict)
    respects_oneway: bool = False
    forbidden_highways: frozenset[str] = frozenset()
    min_speed_kmh: float = 1.0
    label_en: str = ""

    @property
    def speed_mps(self) -> float:
        """Speed on ordinary streets in metres per second."""
        return self.speed_kmh / 3.6

    def metres_in(self, minutes: float) -> float:
        """Distance walked on ordinary streets in ``minutes`` (metres)."""
        return self.speed_kmh * 1000.0 / 60.0 * minutes


#: The default pedestrian: 4.0 km/h = 66.7 m/min, so that 15 minutes is 1000 m, the
#: upper end of the 800-1000 m of GB 50180-2018 table 4.0.1 (which implies
#: 3.2-4.0 km/h).  Pedestrians are never bound by ``oneway``.
WALK = TravelProfile(
    name="walk",
    label_zh="步行",
    label_en="walking",
    speed_kmh=4.0,
    access_speed_kmh=4.0,
    source="GB 50180-2018 表4.0.1: 15分钟 = 800-1000 m; 取 4.0 km/h (15 min = 1000 m)",
)

#: Older pedestrians: 3.2 km/h (0.89 m/s), the lower end implied by GB 50180 (15 min
#: = 800 m) and close to the comfortable gait speed of people over 70 reported in
#: gait studies (about 0.9 m/s); steps at half that.
ELDERLY = TravelProfile(
    name="elderly",
    label_zh="老年人步行",
    label_en="walking (older people)",
    speed_kmh=3.2,
    access_speed_kmh=3.2,
    class_speed_kmh=MappingProxyType({"steps": 1.6}),
    source="GB 50180-2018 下限 (15 min = 800 m); 老年人舒适步速约 0.9 m/s; 台阶减半",
)

#: Bicycles: 12 km/h in mixed urban traffic; walked (4 km/h) on footways and
#: pedestrian streets, carried on steps (2 km/h); bound by ``oneway``.
BIKE = TravelProfile(
    name="bike",
    label_zh="自行车",
    label_en="cycling",
    speed_kmh=12.0,
    access_speed_kmh=4.0,
    class_speed_kmh=MappingProxyType(
        {"footway": 4.0, "pedestrian": 4.0, "corridor": 4.0, "steps": 2.0, "elevator": 2.0}
    ),
    respects_oneway=True,
    source="城市混合交通中自行车平均速度约 12 km/h; 人行道推行 4 km/h",
)

#: Electric bicycles: 20 km/h, below the 25 km/h design maximum of GB 17761-2018;
#: walked on footways, carried on steps; bound by ``oneway``.
EBIKE = TravelProfile(
    name="ebike",
    label_zh="电动自行车",
    label_en="electric bicycle",
    speed_kmh=20.0,
    access_speed_kmh=4.0,
    class_speed_kmh=MappingProxyType(
        {"footway": 4.0, "pedestrian": 4.0, "corridor": 4.0, "steps": 2.0, "elevator": 2.0}
    ),
    respects_oneway=True,
    source="GB 17761-2018 最高设计车速 25 km/h; 取 20 km/h",
)

PROFILES: Mapping[str, TravelProfile] = MappingProxyType({p.name: p for p in (WALK, ELDERLY, BIKE, EBIKE)})
DEFAULT_PROFILE: str = "walk"


def get_profile(profile: str | TravelProfile) -> TravelProfile:
    """Return the travel profile named ``profile`` (or ``profile`` itself).

    Raises
    ------
    InputDataError
        If the name is not one of :data:`PROFILES`.
    """
    from geo.errors import InputDataError

    if isinstance(profile, TravelProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        allowed = ", ".join(PROFILES)
        raise InputDataError(
            f"出行方式 profile={profile!r} 无效，可选: {allowed} (unknown travel profile; allowed: {allowed})"
        ) from None


# --------------------------------------------------------------------- demand (geo.access.demand)

#: Gross floor area one resident occupies (m² of footprint x levels per person).  The
#: 2020 census (《中国人口普查年鉴-2020》) gives 36.52 m² of housing floor area per
#: person in urban family households (城市家庭户人均住房建筑面积) and 41.76 m² over all
#: households; 35 m² rounds the urban figure down.  Towns with larger self-built houses
#: may pass a higher value (about 40 m²).
FLOOR_AREA_PER_RESIDENT_M2: float = 35.0

#: Levels assumed for a residential building without a usable ``building:levels`` tag:
#: 3, between the 1-3 storey self-built houses and the 5-6 storey walk-up blocks of a
#: Chinese county town.  A planner who knows the town better passes another value.
DEFAULT_BUILDING_LEVELS: float = 3.0

#: ``building:levels`` values above this are treated as tagging errors (the tallest
#: buildings have about 160 floors) and replaced by :data:`DEFAULT_BUILDING_LEVELS`.
MAX_BUILDING_LEVELS: float = 200.0

#: Average persons per family household, 2020 census (第七次全国人口普查公报 第二号:
#: 平均每个家庭户的人口为 2.62 人).
PERSONS_PER_HOUSEHOLD: float = 2.62

#: ``building=*`` values that house people wherever they stand.  ``building=yes`` counts
#: only when its footprint centroid lies in a ``landuse=residential`` area.
RESIDENTIAL_BUILDINGS: frozenset[str] = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "terrace",
        "dormitory",
        "semidetached_house",
        "bungalow",
    }
)

#: Largest compound ledger (CSV) read, bytes.
MAX_LEDGER_BYTES: int = 16 * 1024 * 1024
#: Bounds on reading one uploaded table (CSV / XLSX / XLS), checked while it is read, never after
#: (issue 19): at most this many cells in all (about 150 MB as Python strings: a county's ledger
#: has tens of thousands of rows of a few dozen columns) and this many seconds of reading.  The
#: row cap is ``geo.io.sheets.MAX_ROWS``.
MAX_TABLE_CELLS: int = 2_000_000
MAX_TABLE_READ_S: float = 20.0

# ------------------------------------------------------------ management grids (网格)

#: Households per urban grid: the common practice of the county documents
#: (300-500 households per urban grid).
GRID_URBAN_MIN_HOUSEHOLDS: int = 300
GRID_URBAN_MAX_HOUSEHOLDS: int = 500
#: Villages have fewer households per grid (the county documents say "fewer"); the
#: counties give no figure, 100-300 is an assumption a county should confirm.
GRID_VILLAGE_MIN_HOUSEHOLDS: int = 100
GRID_VILLAGE_MAX_HOUSEHOLDS: int = 300
#: Households per micro-grid (微网格/网点: a building or a few buildings), the third
#: level under a grid (issue 20: 10-50 households).
GRID_MICRO_MIN_HOUSEHOLDS: int = 10
GRID_MICRO_MAX_HOUSEHOLDS: int = 50
#: h-micro3 (issue 20): the highest ceiling a planner may set for micro-grids in the page: a
#: micro-grid as large as an urban grid (GRID_URBAN_MAX_HOUSEHOLDS) is no longer a micro-grid.
GRID_MICRO_BOUND_MAX_HOUSEHOLDS: int = GRID_URBAN_MAX_HOUSEHOLDS
#: Faces smaller than this (m²) left by polygonizing the streets are slivers between
#: dual carriageways or drawing errors, not blocks: a 5 m x 4 m patch.
GRID_MIN_BLOCK_AREA_M2: float = 20.0
#: Height (m) of the rows in which street blocks are numbered west to east, row by row
#: from the north: about one urban block.
GRID_BLOCK_ORDER_BAND_M: float = 100.0
#: A demand point on a street line goes to the nearest block within this distance
#: (m): half of a wide street.
GRID_DEMAND_SNAP_M: float = 30.0
#: Two units closer than this (m) touch: planner polygons rarely share vertices.
GRID_ADJACENCY_TOLERANCE_M: float = 0.5
#: Units are neighbours when they share at least this much boundary (m); meeting at a
#: corner does not count.
GRID_MIN_SHARED_EDGE_M: float = 1.0
#: Gaps and overlaps smaller than this (m²) between grids are drawing noise.
GRID_AREA_TOLERANCE_M2: float = 1.0
#: Digits of the grid number after the parent's code: community 350521100001 + 03
#: (codes follow the national administrative division codes).
GRID_NUMBER_DIGITS: int = 2
#: Grid edits kept for undo.
GRID_UNDO_DEPTH: int = 50
#: Improvement passes of the household-bound repair after the first partition.
GRID_REPAIR_PASSES: int = 200
#: Code of the parent when none is given (the whole study area as one parent).
GRID_DEFAULT_PARENT_CODE: str = "000000000000"
#: Least share of a block's area inside one imported grid for the block to join it when existing
#: grids are adopted (geo.grids.adopt): "the grid it mostly lies in" (more than half).
GRID_ADOPT_MIN_SHARE: float = 0.5

# ---------------------------------------------------------------------------- placement
# Neighborhood-center placement (geo/placement/: centers, problem, mclp, pmedian, lscp).

#: Spacing of candidate sites sampled from network nodes (metres): one node per square
#: cell.  A neighborhood center serves a 15-minute circle (~1000 m); 200 m puts a
#: candidate within about three minutes' walk of any street corner and matches the
#: gap-map cell (GAP_CELL_M).
PLACEMENT_CANDIDATE_SPACING_M: float = 200.0
#: p-median searches walking times up to this multiple of the budget (15-minute
#: circle: 30 minutes); a resident with no center within it counts the penalty below.
PMEDIAN_CUTOFF_FACTOR: float = 2.0
#: Penalty time of a resident beyond the p-median cutoff, as a multiple of the cutoff
#: (twice: not serving a resident costs at least as much as the longest walk again).
#: An assumption of this product, not of a standard; the summary states it.
PMEDIAN_PENALTY_FACTOR: float = 2.0
#: Relative MIP gap at which HiGHS stops and calls an answer optimal.  HiGHS's own
#: default is 1e-4 (0.01 %); 1e-6 makes "optimal" mean optimal to the resident.
PLACEMENT_MIP_REL_GAP: float = 1e-6
#: Wall-clock limit of one exact solve (seconds): a planner waits a minute at most, and
#: the targets of issue 6 are set at 60 s.  A time-limited answer reports its gap.
PLACEMENT_TIME_LIMIT_S: float = 60.0
#: Time limit of the heuristic's swap search (seconds).
PLACEMENT_HEURISTIC_TIME_LIMIT_S: float = 10.0
#: Seconds the LSCP heuristic's local search (geo.placement.cover_search) may run in all,
#: counted from the start of the solve: the heuristic is for interactive use (issue 6:
#: answers in under 2 s on 20,000 points), so reductions, LP bound and search share it.
PLACEMENT_LSCP_HEURISTIC_S: float = 1.5
#: Share of an exact LSCP's time limit given to that local search before the MIP: the
#: search finds the near-optimal covers, the MIP proves (or improves) them.
PLACEMENT_LSCP_SEARCH_SHARE: float = 0.25
#: Iterations of the subgradient optimisation of the Lagrangian bounds (Beasley 1993,
#: "Lagrangean relaxation", in Reeves (ed.) Modern Heuristic Techniques: a few hundred).
PLACEMENT_LAGRANGE_ITERATIONS: int = 300
#: Runner-up sites listed in a placement's explanation.
PLACEMENT_RUNNER_UPS: int = 5
