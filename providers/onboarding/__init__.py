"""Onboarding an existing Alloy account: ``pull`` writes the account's users
into a manifest (read-only). It sits above the manifest toolkit and the
Alloy client, which it uses; ``python -m providers.manifest pull`` reaches it
through the command line's composition root (``providers/manifest/__main__.py``)."""
