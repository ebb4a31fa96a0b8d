"""Access to services: service areas, demand, facilities, standards, coverage, comparison."""
