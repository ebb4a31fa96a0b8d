"""Maps for meetings: contents, print layouts, report, offline base map."""
