"""The ``linli`` command: one entry point over the web app and the scripts.

``linli serve`` is ``python -m webapp``; ``linli coverage``, ``linli service-areas``,
``linli grids``, ``linli place``, ``linli export`` and ``linli batch`` are the scripts
(``python -m scripts.X``), with the same parsers.  This package sits above both faces
and imports them only when a command runs; ``geo/`` knows nothing of it.
"""

__version__ = "0.1.0"
