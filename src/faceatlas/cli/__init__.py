"""The ``faceatlas`` command line (Typer + Rich)."""
