"""The walk network: sparse graph, snapping onto edges, batched shortest paths, routing, street cells.

Where a user starts:

* :func:`load_network` — an OSM extract, GraphML or (online) a polygon, cleaned and cached,
  as a :class:`WalkNetwork` (metric CRS); :meth:`WalkNetwork.cost_graph` — its
  :class:`CostGraph` for a travel profile;
* :func:`snap_points` — points onto their nearest edges (:class:`Snapped`);
* :func:`reach_sets`, :func:`nearest_origins` — batched Dijkstra from snapped origins;
* :func:`nearest_facilities` — every resident's nearest facility of each group.

Inside: :mod:`~geo.network.graph`, :mod:`~geo.network.snapping`, :mod:`~geo.network.reach`,
:mod:`~geo.network.routing`; the street cells behind service-area polygons in
:mod:`~geo.network.street_cells` (built by :mod:`~geo.network.cell_voronoi`, merged by
:mod:`~geo.network.cell_merge`, unioned by :mod:`~geo.network.cell_rings`).
"""

from geo.network.graph import CostGraph, WalkNetwork, load_network, network_from_gdfs
from geo.network.reach import ReachSets, nearest_origins, reach_sets
from geo.network.routing import NearestFacilities, nearest_facilities
from geo.network.snapping import Snapped, snap_points

__all__ = [
    "CostGraph",
    "NearestFacilities",
    "ReachSets",
    "Snapped",
    "WalkNetwork",
    "load_network",
    "nearest_facilities",
    "nearest_origins",
    "network_from_gdfs",
    "reach_sets",
    "snap_points",
]
