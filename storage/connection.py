"""Opening the SQLite database: WAL, foreign keys, migrations applied."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import apply_migrations

logger = logging.getLogger(__name__)


class StorageError(RuntimeError):
    """The database cannot be opened or migrated."""


async def connect(path: Path | str) -> aiosqlite.Connection:
    """Open the database at `path`, configured and migrated to the latest schema."""
    target = str(path)
    try:
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(target, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot open database {target}: {exc}") from None
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA foreign_keys=ON")
        # Two bot processes (or a CLI import beside the server) may share the file.
        await db.execute("PRAGMA busy_timeout=10000")
        await db.execute("PRAGMA synchronous=NORMAL")
        # 128 MB of page cache (allocated only as used): an import's indexes
        # stay in memory instead of being re-read for every batch.
        await db.execute("PRAGMA cache_size=-131072")
        await apply_migrations(db)
    except sqlite3.Error as exc:
        await db.close()
        raise StorageError(f"cannot use database {target}: {exc}") from None
    except BaseException:
        await db.close()
        raise
    return db


@asynccontextmanager
async def open_db(path: Path | str) -> AsyncIterator[aiosqlite.Connection]:
    db = await connect(path)
    try:
        yield db
    finally:
        await db.close()


# Handlers and jobs share one connection; SQLite has one transaction per
# connection, so writers on it take turns here (other processes queue on the
# file lock through busy_timeout instead).
_WRITE_LOCKS: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """All-or-nothing block of writes (IMMEDIATE, so writers queue rather than fail)."""
    lock = _WRITE_LOCKS.setdefault(db, asyncio.Lock())
    async with lock:
        await db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        else:
            await db.execute("COMMIT")
