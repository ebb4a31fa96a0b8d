"""Location-allocation of neighbourhood centres (邻里中心选址).

Where a user starts:

* candidate sites — :func:`network_candidates`, :func:`read_candidates`,
  :func:`candidates_from_points` (:mod:`geo.placement.candidates`);
* walking-time costs and one solved, explained plan — :func:`placement_costs`,
  :func:`place_centers` returning a :class:`Placement` (:mod:`geo.placement.centers`);
* the models on any cost matrix — a :class:`Problem` solved by :func:`solve_mclp`,
  :func:`solve_pmedian` or :func:`solve_lscp` into a :class:`Solution` with its proven bound.

Inside: :mod:`~geo.placement.problem` (arrays, reductions, the status rule),
:mod:`~geo.placement.highs` (the HiGHS runner and the capacitated finish),
:mod:`~geo.placement.mclp`, :mod:`~geo.placement.pmedian`, :mod:`~geo.placement.lscp` (one
model family each) and :mod:`~geo.placement.cover_search` (the compiled LSCP local search).
"""

from geo.placement.candidates import candidates_from_points, network_candidates, read_candidates
from geo.placement.centers import MODELS, Placement, PlacementCosts, place_centers, placement_costs
from geo.placement.lscp import solve_lscp
from geo.placement.mclp import solve_mclp
from geo.placement.pmedian import solve_pmedian
from geo.placement.problem import Problem, Solution

__all__ = [
    "MODELS",
    "Placement",
    "PlacementCosts",
    "Problem",
    "Solution",
    "candidates_from_points",
    "network_candidates",
    "place_centers",
    "placement_costs",
    "read_candidates",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
]
