"""Linli core: networks, service areas and (later) coverage, placement and grids.

Framework-free: no Flask, no Folium, no command-line parsing here.
"""
