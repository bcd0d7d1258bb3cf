"""A local emulator of Alloy's users API, for the default run, demos and tests.

Start it with ``python -m emulator`` (options: ``--help``); drive it from
tests with ``emulator.testing.EmulatorProcess``. Modules, one concern each:

- ``cli``, ``server``, ``settings``: command line, uvicorn, readiness, signals
- ``app``: Alloy's routes; ``gateway``: auth, API version, faults, request log
- ``store``: SQLite; ``ids``: userIds; ``bodies``: request validation
- ``faults``: fault configuration and decisions; ``requestlog``: log and counters
- ``admin``: the ``/_emulator/`` API; ``testing``: process handle and admin client
- ``defaults``: every named default
"""
