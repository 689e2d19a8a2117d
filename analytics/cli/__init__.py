"""The `llmstats` command line (typer): the app is built in app.py, one module per
command group beside it."""

from .app import app, main

__all__ = ["app", "main"]
