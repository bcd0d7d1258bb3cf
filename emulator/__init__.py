"""A local emulator of Alloy's users API, for the default run, demos and tests.

Start it with ``python -m emulator`` (options: ``--help``); drive it from
Python with ``emulator.process.EmulatorProcess``. Modules, one concern each:

- ``cli``, ``server``, ``settings``: command line, uvicorn, readiness, signals
- ``app``: Alloy's routes; ``gateway``: auth, API version, faults, request log
- ``store``: SQLite; ``ids``: userIds; ``bodies``: request validation
- ``faults``: fault configuration and decisions; ``requestlog``: log and counters
- ``variants``: the API variants (where Alloy's docs disagree); ``pagination``: paged ``GET /users``
- ``admin``: the ``/_emulator/`` API; ``process``: the launcher (process handle and admin client)
- ``testing``: test helpers (the in-process ``EmulatorThread``), re-exporting the launcher
- ``defaults``: every named default
"""
