"""Management grids: street blocks, partition and codes, checks, edits, the organisation tree."""
