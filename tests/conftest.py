"""Fixtures only; shared helpers are in ``tests/helpers.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import shared_data


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_data()
    if path is None:
        pytest.skip("PHYLO_LLM_SHARED_DATA is not set or not a folder: real-data tests need ../shared/data")
    return path
