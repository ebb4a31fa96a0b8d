"""The ``linli`` command: one entry point over the web app and the scripts.

``linli serve`` is ``python -m webapp``; ``linli coverage``, ``linli service-areas``,
``linli grids``, ``linli place``, ``linli export`` and ``linli batch`` are the scripts
(``python -m scripts.X``), with the same parsers.  The command (``linli.cli``) sits
above both faces and imports them only when a command runs; ``linli.config`` reads the
``LINLI_*`` environment for the scripts.  ``geo/`` knows nothing of this package.
"""

__version__ = "0.1.0"
