"""Quoting for the SQL the workbench writes to DuckDB: the one place that does it.

Values are bound with ``?`` wherever DuckDB allows a parameter. Where it does not (a file path in
``COPY ... TO``, a table function's arguments, DDL), text goes into the statement through ``ql``
and names through ``qi``. This module imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path


def ql(value: str | Path) -> str:
    """A quoted SQL string literal (``O'Brien`` -> ``'O''Brien'``); a path as its text."""
    return "'" + str(value).replace("'", "''") + "'"


def qi(name: str) -> str:
    """A quoted SQL identifier: double quotes around it, inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def timestamp_literal(day: date) -> str:
    """A DuckDB TIMESTAMP literal for midnight of ``day`` (``TIMESTAMP '2026-10-01'``)."""
    return f"TIMESTAMP {ql(day.isoformat())}"
