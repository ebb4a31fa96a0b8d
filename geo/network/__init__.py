"""The walk network: sparse graph, snapping onto edges, routing, street cells."""
