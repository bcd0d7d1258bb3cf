"""Performance benchmark of alloy-users (``make bench``, ``python -m bench``).

Measures what the Pulumi engine and the ``AlloyUser`` dynamic provider cost on
top of the Alloy API's own latency, and how that cost grows with the number of
users, against two baselines: the project's HTTP client doing the same calls
directly, and the same stack shape served by a provider that does nothing
(``bench/floor``). Results go to ``bench/results/`` (Markdown, JSON, PNG).
"""
