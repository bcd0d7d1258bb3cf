"""The deletion guard's rule, shared by every path that can delete users:
the Pulumi program (``pulumi up`` / ``preview``), the provider (``pulumi
destroy``), ``make up`` and ``python -m review``. No Pulumi here."""
