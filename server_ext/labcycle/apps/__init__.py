"""Helpers behind the Voila apps in ``voila_apps/`` (kept here so they are importable and tested)."""
