"""Alloy's users API as Python: the HTTP client, its typed errors and the run
settings (the ``alloy:*`` registry). No Pulumi here."""
