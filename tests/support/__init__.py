"""Shared test helpers (on sys.path via pytest's ``pythonpath``)."""
