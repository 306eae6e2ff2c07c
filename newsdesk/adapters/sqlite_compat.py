"""Swap in pysqlite3 when the system sqlite is older than Chroma needs (the Lambda Python 3.11 base image)."""

from __future__ import annotations

import importlib
import logging
import sqlite3
import sys

log = logging.getLogger(__name__)

CHROMA_MIN_SQLITE = (3, 35, 0)


def ensure_modern_sqlite(minimum: tuple[int, int, int] = CHROMA_MIN_SQLITE) -> str:
    """Call before chromadb is imported; returns the sqlite version that will be used."""
    if sqlite3.sqlite_version_info >= minimum:
        return sqlite3.sqlite_version
    try:
        modern = importlib.import_module("pysqlite3")
    except ImportError:
        log.warning("sqlite %s is older than %s and pysqlite3-binary is not installed",
                    sqlite3.sqlite_version, ".".join(map(str, minimum)))
        return sqlite3.sqlite_version
    sys.modules["sqlite3"] = modern
    log.info("using pysqlite3 sqlite=%s instead of system sqlite=%s", modern.sqlite_version, sqlite3.sqlite_version)
    return str(modern.sqlite_version)
