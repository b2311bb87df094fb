"""What the workers and the writer share in Redis, and every operation on it (redis-py
only, no Scrapy): the article claims, the workers' heartbeats, the items queue from the
workers to the writer, and the shared view of the archive (docs/distributed.md).

Every step that must not be cut in two by a kill is one Lua script or one MULTI
transaction: a claim moves with the request or the item it belongs to.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import redis

logger = logging.getLogger(__name__)

#: Errors that mean Redis cannot be reached (or stopped answering).
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

#: Claim values that are not a worker: a request in the shared queue, an item for the writer.
QUEUED = "queued"
WRITER = "writer"
_WORKER_PREFIX = "w:"

#: Articles published to the shared view per Redis command.
_PUBLISH_CHUNK = 10_000

# A claim is free when missing, held by the caller for a follow-up request (the next
# text source, a retry: not the same article announced again), held by a worker whose
# heartbeat ran out, or a finished worker's whose time (``t:<until>``) is up.
_FREE = """
local function free(owner, me, follow_up)
  if not owner then return true end
  if owner == me then return follow_up == '1' end
  local kind = string.sub(owner, 1, 2)
  if kind == 't:' then return tonumber(string.sub(owner, 3)) <= tonumber(redis.call('TIME')[1]) end
  if kind ~= 'w:' then return false end
  local expires = redis.call('ZSCORE', KEYS[3], owner)
  return not expires or tonumber(expires) <= tonumber(redis.call('TIME')[1])
end
"""
# KEYS: queue, claims, workers; ARGV: code, me, payload, force, follow_up -> 1 pushed, 0 not.
_PUSH = (
    _FREE
    + """
if ARGV[4] ~= '1' and not free(redis.call('HGET', KEYS[2], ARGV[1]), ARGV[2], ARGV[5]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'queued')
redis.call('LPUSH', KEYS[1], ARGV[3])
return 1
"""
)
# KEYS: queue, claims, workers; ARGV: code, me, follow_up -> 1 when the claim is free for the caller.
_IS_FREE = _FREE + "return free(redis.call('HGET', KEYS[2], ARGV[1]), ARGV[2], ARGV[3]) and 1 or 0\n"
# KEYS: queue, claims; ARGV: me -> the payload (``<code>\\n<request>``), its claim now the caller's.
_POP = """
local payload = redis.call('RPOP', KEYS[1])
if not payload then return false end
local newline = string.find(payload, '\\n', 1, true)
if newline and newline > 1 then redis.call('HSET', KEYS[2], string.sub(payload, 1, newline - 1), ARGV[1]) end
return payload
"""
# KEYS: claims; ARGV: me, seconds, codes... -> the caller's claims among codes, now held
# for *seconds* more by nobody (``t:<until>``).
_RELEASE = """
local released = 0
local value = 't:' .. (tonumber(redis.call('TIME')[1]) + tonumber(ARGV[2]))
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then
    redis.call('HSET', KEYS[1], ARGV[i], value)
    released = released + 1
  end
end
return released
"""
# KEYS: workers; ARGV: me, seconds -> the heartbeat, valid for *seconds* of Redis's clock.
_BEAT = """
local now = tonumber(redis.call('TIME')[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400)
return now
"""
# KEYS: workers -> workers whose heartbeat has not run out.
_LIVE = "return redis.call('ZCOUNT', KEYS[1], '(' .. redis.call('TIME')[1], '+inf')\n"


def worker_id() -> str:
    """A name for this process among the workers: host, pid and a random part."""
    return f"{_WORKER_PREFIX}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one archive (``REDIS_KEY_PREFIX``): the one home of their names."""

    prefix: str

    def requests(self, spider: str) -> str:
        """The shared queue of article requests of *spider* (a list, scrapy-redis's FIFO queue)."""
        return f"{self.prefix}:{spider}:requests"

    def dupefilter(self, spider: str) -> str:
        """scrapy-redis's fingerprint set (requests that are not article requests)."""
        return f"{self.prefix}:{spider}:dupefilter"

    @property
    def claims(self) -> str:
        """Hash: article code -> who has it (``queued``, ``w:<worker>``, ``writer``)."""
        return f"{self.prefix}:claims"

    @property
    def workers(self) -> str:
        """Sorted set: worker -> when its heartbeat runs out (Redis's clock, seconds)."""
        return f"{self.prefix}:workers"

    @property
    def items(self) -> str:
        """List: messages from the workers to the writer (JSON, oldest first)."""
        return f"{self.prefix}:items"

    @property
    def writing(self) -> str:
        """List: the messages the writer has taken and not yet acknowledged."""
        return f"{self.prefix}:items:writing"

    @property
    def bad(self) -> str:
        """List: messages the writer could not read, kept for a person to look at."""
        return f"{self.prefix}:items:bad"

    @property
    def known(self) -> str:
        """Set: the article codes of the archive (the shared view)."""
        return f"{self.prefix}:known"

    @property
    def refused(self) -> str:
        """Hash: article code -> why the archive refused it for good."""
        return f"{self.prefix}:refused"

    @property
    def view(self) -> str:
        """String: the token of the store the view was published from."""
        return f"{self.prefix}:view"

    def spider_queues(self) -> str:
        """A pattern matching every spider's request queue."""
        return f"{self.prefix}:*:requests"


def connect(url: str, timeout: float = 10.0) -> redis.Redis:
    """A client for *url* (``redis://host:port/db``); nothing is sent yet."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
    )


def safe_url(url: str) -> str:
    """*url* without its password, for the log."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


class Shared:
    """The shared state of one archive in Redis, as one process (a worker or the writer) uses it."""

    def __init__(self, client: redis.Redis, keys: Keys, me: str | None = None) -> None:
        self.client = client
        self.keys = keys
        self.me = me or worker_id()
        self._push = client.register_script(_PUSH)
        self._is_free = client.register_script(_IS_FREE)
        self._pop = client.register_script(_POP)
        self._release = client.register_script(_RELEASE)
        self._beat = client.register_script(_BEAT)
        self._live = client.register_script(_LIVE)

    def ping(self) -> None:
        """Raises one of :data:`REDIS_ERRORS` when Redis does not answer."""
        self.client.ping()

    # --- claims and the shared request queue ----------------------------------------------

    def push_request(
        self, queue: str, code: str, payload: bytes, *, force: bool = False, follow_up: bool = False
    ) -> bool:
        """Queue *payload* (a request for article *code*) unless someone has the article:
        queued, with a live worker (this process too, unless the request is a *follow_up*
        of its own), with the writer; the claim becomes ``queued``. *force*: queue it
        anyway (``-a codes``)."""
        keys = [queue, self.keys.claims, self.keys.workers]
        args: list[Any] = [code, self.me, payload, _flag(force), _flag(follow_up)]
        return bool(self._push(keys=keys, args=args))

    def is_free(self, code: str, *, follow_up: bool = False) -> bool:
        """Nobody has article *code* (see :meth:`push_request`)."""
        keys = ["", self.keys.claims, self.keys.workers]
        return bool(self._is_free(keys=keys, args=[code, self.me, _flag(follow_up)]))

    def pop_request(self, queue: str) -> bytes | None:
        """The oldest request of *queue*, its article's claim now this process's."""
        payload = self._pop(keys=[queue, self.keys.claims], args=[self.me])
        return payload if isinstance(payload, bytes) else None

    def release(self, codes: Iterable[str], hold: float = 0) -> int:
        """Give up the claims this process still holds among *codes* (articles it tried and
        did not hand to the writer): free for everyone *hold* seconds from now."""
        args: list[Any] = [self.me, max(0, round(hold)), *codes]
        return int(self._release(keys=[self.keys.claims], args=args)) if len(args) > 2 else 0

    def heartbeat(self, seconds: float) -> None:
        """This process is alive for *seconds* more: its claims hold that long."""
        self._beat(keys=[self.keys.workers], args=[self.me, max(1, round(seconds))])

    def leave(self) -> None:
        """This process stops: it is no longer a live worker."""
        self.client.zrem(self.keys.workers, self.me)

    def live_workers(self) -> int:
        return int(self._live(keys=[self.keys.workers]))

    def queued_requests(self) -> int:
        """Requests waiting in every spider's shared queue."""
        total = 0
        for key in self.client.scan_iter(match=self.keys.spider_queues(), count=100):
            total += int(self.client.llen(key))
        return total

    # --- the items queue: workers -> the writer ---------------------------------------------

    def hand_off(self, code: str, message: bytes) -> None:
        """Give the writer *message* about article *code*; its claim goes with it (one transaction)."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(self.keys.items, message)
            if code:
                pipe.hset(self.keys.claims, code, WRITER)
            pipe.execute()

    def take(self) -> bytes | None:
        """The oldest message for the writer, kept in the ``writing`` list until :meth:`done`."""
        message = self.client.lmove(self.keys.items, self.keys.writing, "LEFT", "RIGHT")
        return message if isinstance(message, bytes) else None

    def recover(self) -> int:
        """Put back, in order and ahead of the others, the messages a killed writer had
        taken but not acknowledged; returns how many."""
        moved = 0
        while self.client.lmove(self.keys.writing, self.keys.items, "RIGHT", "LEFT") is not None:
            moved += 1
        return moved

    def done(
        self,
        messages: Iterable[bytes],
        known: Iterable[str],
        refused: Iterable[tuple[str, str]],
        settled: Iterable[str],
    ) -> None:
        """Acknowledge *messages* and publish what became of their articles, in one
        transaction: *known* archived, *refused* refused for good, and the claims of every
        article in *settled* released (those neither known nor refused may be fetched again)."""
        with self.client.pipeline(transaction=True) as pipe:
            for message in messages:
                pipe.lrem(self.keys.writing, 1, cast(Any, message))
            codes = list(known)
            if codes:
                pipe.sadd(self.keys.known, *codes)
            reasons = dict(refused)
            if reasons:
                pipe.hset(self.keys.refused, mapping=cast(Any, reasons))
            settled_codes = list(settled)
            if settled_codes:
                pipe.hdel(self.keys.claims, *settled_codes)
            pipe.execute()

    def set_aside(self, message: bytes) -> None:
        """A message the writer cannot read: moved to the ``bad`` list, not lost."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.lrem(self.keys.writing, 1, cast(Any, message))
            pipe.rpush(self.keys.bad, message)
            pipe.execute()

    def pending_items(self) -> int:
        return int(self.client.llen(self.keys.items))

    # --- the shared view of the archive -------------------------------------------------------

    def is_archived(self, code: str) -> bool:
        return bool(self.client.sismember(self.keys.known, code))

    def rejection(self, code: str) -> str | None:
        reason = self.client.hget(self.keys.refused, code)
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else None

    def view_token(self) -> str | None:
        token = self.client.get(self.keys.view)
        return token.decode() if isinstance(token, bytes) else None

    def publish(self, token: str, codes: Iterator[str], refused: Iterator[tuple[str, str]]) -> int:
        """Replace the shared view by *codes* and *refused* (the whole store), then mark it
        as published from the store *token*; returns the articles published."""
        staging_known, staging_refused = f"{self.keys.known}:new", f"{self.keys.refused}:new"
        self.client.delete(staging_known, staging_refused)
        published = refusals = 0
        for chunk in _chunks(codes, _PUBLISH_CHUNK):
            self.client.sadd(staging_known, *chunk)
            published += len(chunk)
        for pairs in _chunks(refused, _PUBLISH_CHUNK):
            self.client.hset(staging_refused, mapping=dict(pairs))
            refusals += len(pairs)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.known, self.keys.refused)
            if published:
                pipe.rename(staging_known, self.keys.known)
            if refusals:
                pipe.rename(staging_refused, self.keys.refused)
            pipe.set(self.keys.view, token)
            pipe.execute()
        return published


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
