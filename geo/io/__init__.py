"""Readers and writers: OSM and planners' files, uploads, coordinate systems, boundaries, exports."""
