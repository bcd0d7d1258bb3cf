"""The Pulumi side: the program that ``__main__.py`` runs, its resources
besides the users (``deletion_guard``), the bare-``pulumi up`` cost warning
(``checkpoint_cost``), and the four patches of the SDK's behaviour
(``provenance``: each user's source position is its manifest line;
``provider_host``: one-line errors, exit with the engine; ``interrupt``:
Ctrl-C ends the program with one line; ``sdk_speedups``: the per-resource
costs cut).
The ``AlloyUser`` resource itself stays in ``providers.alloy_user``: existing
state refers to that module path."""
