"""Shared fixtures. Layer-specific helpers live in tests/helpers/."""

from __future__ import annotations

import pytest

from tests.helpers.moto_server import MotoServer


@pytest.fixture(scope="session")
def moto_server_session():
    with MotoServer() as server:
        yield server


@pytest.fixture
def moto_server(moto_server_session: MotoServer) -> MotoServer:
    """A real AWS API on 127.0.0.1, emptied before each test."""
    moto_server_session.reset()
    return moto_server_session
