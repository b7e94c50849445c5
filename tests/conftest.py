"""Fixtures shared by the whole suite: a migrated SQLite file and the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.connection import connect

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_MBOX = REPO / "samples" / "enron-headers.mbox"


@pytest.fixture
def shared_data() -> Path:
    """The read-only sample data beside the checkout; absent on a newcomer's clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (a fresh clone has no ../shared/data)")
    return SHARED_DATA


@pytest.fixture
async def db(tmp_path):
    connection = await connect(tmp_path / "rapport.db")
    try:
        yield connection
    finally:
        await connection.close()
