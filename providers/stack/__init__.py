"""The Pulumi side: the program that ``__main__.py`` runs and the two patches
of the SDK's behaviour (``provenance``: each user's source position is its
manifest line; ``provider_host``: one-line errors, exit with the engine).
The ``AlloyUser`` resource itself stays in ``providers.alloy_user``: existing
state refers to that module path."""
