"""Command-line jobs of the project (run with ``python -m scripts.<name>``)."""
