"""Location-allocation of neighbourhood centres: candidates, models, solvers."""
