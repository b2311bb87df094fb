"""A real Redis for the distributed mode's tests: one ``redis-server`` per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from newscrawler.dev.redis import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()
