"""What the workers and the writer share in Redis, and every operation on it (redis-py
only, no Scrapy): the article claims, the workers' heartbeats and the requests each has
taken, the items queue from the workers to the writer, the writer's lease, and the
shared view of the archive (docs/distributed.md).

Every step that must not be cut in two by a kill is one Lua script or one MULTI
transaction: a claim moves with the request or the item it belongs to, and a request
taken from the queue stays in Redis (the worker's ``taken`` list) until its article is
handed on or given up, so that a killed worker's requests are queued again.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis

logger = logging.getLogger(__name__)

#: Errors that mean Redis cannot be reached (or stopped answering).
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
#: Any error of Redis (out of memory, read-only replica ... as well).
REDIS_ANY_ERROR = redis.exceptions.RedisError

#: Claim values: queued in a queue (``q:<queue key>``), taken by a worker (``w:<id>``,
#: while its heartbeat lasts), handed to the writer, resting after a worker tried the
#: article in vain (``t:<until>``, Redis's clock).
QUEUED_PREFIX = "q:"
WORKER_PREFIX = "w:"
WRITER = "writer"
RESTING_PREFIX = "t:"

#: Articles published to the shared view per Redis command.
_PUBLISH_CHUNK = 10_000

_NOW = "tonumber(redis.call('TIME')[1])"
# free(owner, me, follow_up, queue): may *me* queue the article in *queue*? When nobody has
# it; when *me* has it and this is a follow-up (the next text source, a retry); when it is
# queued in another spider's queue, or in a queue that is empty (emptied by hand); when
# its worker's heartbeat ran out (the taken list is then queued again); when its rest is over.
_FREE = f"""
local function free(owner, me, follow_up, queue)
  if not owner then return true end
  if owner == me then return follow_up == '1' end
  local kind = string.sub(owner, 1, 2)
  if kind == '{RESTING_PREFIX}' then return tonumber(string.sub(owner, 3)) <= {_NOW} end
  if kind == '{QUEUED_PREFIX}' then
    local where = string.sub(owner, 3)
    return where ~= queue or redis.call('LLEN', where) == 0
  end
  if kind ~= '{WORKER_PREFIX}' then return false end
  local expires = redis.call('ZSCORE', KEYS[3], owner)
  return not expires or tonumber(expires) <= {_NOW}
end
"""
# KEYS: queue, claims, workers, my taken list; ARGV: code, me, payload, force, follow_up,
# the payload this request follows up ("" for none) -> 1 queued, 0 someone has the article.
_PUSH = (
    _FREE
    + f"""
if ARGV[4] ~= '1' and not free(redis.call('HGET', KEYS[2], ARGV[1]), ARGV[2], ARGV[5], KEYS[1]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], '{QUEUED_PREFIX}' .. KEYS[1])
redis.call('LPUSH', KEYS[1], ARGV[3])
if ARGV[6] ~= '' then redis.call('LREM', KEYS[4], 1, ARGV[6]) end
return 1
"""
)
# KEYS: queue, claims, workers; ARGV: code, me, follow_up -> 1 when *me* may queue it.
_IS_FREE = _FREE + "return free(redis.call('HGET', KEYS[2], ARGV[1]), ARGV[2], ARGV[3], KEYS[1]) and 1 or 0\n"
# KEYS: queue, claims, my taken list; ARGV: me -> the oldest payload (``<code>\\n<request>``),
# now in my taken list, its claim mine.
_POP = """
local payload = redis.call('RPOP', KEYS[1])
if not payload then return false end
local newline = string.find(payload, '\\n', 1, true)
if newline and newline > 1 then redis.call('HSET', KEYS[2], string.sub(payload, 1, newline - 1), ARGV[1]) end
redis.call('LPUSH', KEYS[3], payload)
return payload
"""
# KEYS: items, claims, my taken list; ARGV: code, message, the payload it came from ("") ->
# the message for the writer, the claim the writer's, the request done with.
_HAND_OFF = f"""
redis.call('RPUSH', KEYS[1], ARGV[2])
if ARGV[1] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], '{WRITER}') end
if ARGV[3] ~= '' then redis.call('LREM', KEYS[3], 1, ARGV[3]) end
return 1
"""
# KEYS: claims, my taken list, known, refused; ARGV: me, seconds, codes... -> my claims
# among codes given up: deleted when the article is archived or refused, else resting for
# *seconds*; my taken list is done with.
_RELEASE = f"""
local released = 0
local value = '{RESTING_PREFIX}' .. ({_NOW} + tonumber(ARGV[2]))
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then
    if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 1 or redis.call('HEXISTS', KEYS[4], ARGV[i]) == 1 then
      redis.call('HDEL', KEYS[1], ARGV[i])
    else
      redis.call('HSET', KEYS[1], ARGV[i], value)
    end
    released = released + 1
  end
end
redis.call('DEL', KEYS[2])
return released
"""
# KEYS: workers, worker queues; ARGV: me, seconds, my queue -> the heartbeat, valid for
# *seconds* of Redis's clock.
_BEAT = f"""
local now = {_NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return now
"""
# KEYS: workers, worker queues, claims; ARGV: the taken lists' key prefix -> requests queued
# again: those each dead worker had taken (whose claim it still held), back at the head of
# its queue; the dead workers forgotten.
_REQUEUE_DEAD = f"""
local now = {_NOW}
local requeued = 0
for _, worker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local queue = redis.call('HGET', KEYS[2], worker)
  local taken = ARGV[1] .. worker
  if queue then
    local payload = redis.call('RPOP', taken)
    while payload do
      local newline = string.find(payload, '\\n', 1, true)
      local code = newline and string.sub(payload, 1, newline - 1) or ''
      if code ~= '' and redis.call('HGET', KEYS[3], code) == worker then
        redis.call('HSET', KEYS[3], code, '{QUEUED_PREFIX}' .. queue)
        redis.call('RPUSH', queue, payload)
        requeued = requeued + 1
      end
      payload = redis.call('RPOP', taken)
    end
  end
  redis.call('DEL', taken)
  redis.call('HDEL', KEYS[2], worker)
  redis.call('ZREM', KEYS[1], worker)
end
return requeued
"""
# KEYS: workers -> workers whose heartbeat has not run out.
_LIVE = f"return redis.call('ZCOUNT', KEYS[1], '(' .. {_NOW}, '+inf')\n"
# KEYS: writing, claims, known, refused; ARGV: messages n, messages..., known n, codes...,
# refused n, (code, reason)..., settled codes... -> the messages done with; the known and
# refused published; the writer's claims on the settled codes deleted (only the writer's).
_DONE = f"""
local at = 1
local function take()
  local n = tonumber(ARGV[at]); at = at + 1
  local first = at; at = at + n
  return first, n
end
local first, n = take()
for i = first, first + n - 1 do redis.call('LREM', KEYS[1], 1, ARGV[i]) end
first, n = take()
for i = first, first + n - 1 do redis.call('SADD', KEYS[3], ARGV[i]) end
first, n = take()
for i = first, first + n - 2, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
for i = at, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == '{WRITER}' then redis.call('HDEL', KEYS[2], ARGV[i]) end
end
return 1
"""
# KEYS: writing, bad, claims; ARGV: message, code -> set aside, the article free again.
_SET_ASIDE = f"""
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[3], ARGV[2]) == '{WRITER}' then redis.call('HDEL', KEYS[3], ARGV[2]) end
return 1
"""
# KEYS: the writer's lease; ARGV: me, seconds -> 1 when *me* holds it for *seconds* more.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""
# KEYS: the writer's lease; ARGV: me, seconds, the dead holder -> 1 when taken over.
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""
_UNLEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\nreturn 1\n"


def worker_id() -> str:
    """A name for this process among the workers: host, pid and a random part."""
    return f"{WORKER_PREFIX}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_dead_here(process: str) -> bool:
    """*process* (a :func:`worker_id`) ran on this host and is no longer running."""
    _, _, rest = process.partition(WORKER_PREFIX)
    host, _, rest = rest.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's
        return False
    return False


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one archive (``REDIS_KEY_PREFIX``): the one home of their names."""

    prefix: str

    def requests(self, spider: str) -> str:
        """The shared queue of article requests of *spider* (a list, scrapy-redis's FIFO queue)."""
        return f"{self.prefix}:{spider}:requests"

    def dupefilter(self, spider: str) -> str:
        """scrapy-redis's fingerprint set (shared requests that are not article requests: none today)."""
        return f"{self.prefix}:{spider}:dupefilter"

    @property
    def taken_prefix(self) -> str:
        return f"{self.prefix}:taken:"

    def taken(self, worker: str) -> str:
        """List: the requests *worker* has taken from the queue and not yet handed on or given up."""
        return f"{self.taken_prefix}{worker}"

    @property
    def claims(self) -> str:
        """Hash: article code -> who has it (see :data:`QUEUED_PREFIX` ...)."""
        return f"{self.prefix}:claims"

    @property
    def workers(self) -> str:
        """Sorted set: worker -> when its heartbeat runs out (Redis's clock, seconds)."""
        return f"{self.prefix}:workers"

    @property
    def worker_queues(self) -> str:
        """Hash: worker -> the queue it takes requests from."""
        return f"{self.prefix}:worker-queues"

    @property
    def items(self) -> str:
        """List: messages from the workers to the writer (``<code>\\n<JSON>``, oldest first)."""
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
    def writer(self) -> str:
        """String, with an expiry: the writer's lease (one writer per prefix)."""
        return f"{self.prefix}:writer"

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


def connect(url: str, timeout: float = 5.0) -> redis.Redis:
    """A client for *url* (``redis://host:port/db``); nothing is sent yet. Raises
    ``ValueError`` for a URL redis-py cannot read."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
    )


def safe_url(url: str) -> str:
    """*url* without its password, for the log."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def frame(code: str, body: bytes) -> bytes:
    """A request or a message as Redis keeps it: ``<code>\\n<body>``."""
    return code.encode("ascii") + b"\n" + body


def unframe(data: bytes) -> tuple[str, bytes]:
    code, _, body = data.partition(b"\n")
    return code.decode("ascii", "replace"), body


_R = TypeVar("_R")


def _guarded(method: Callable[..., _R]) -> Callable[..., _R]:
    """Once Redis failed in this process, later calls fail at once (no more timeouts)."""

    @functools.wraps(method)
    def call(self: Shared, *args: Any, **kwargs: Any) -> _R:
        if self.lost:
            raise redis.exceptions.ConnectionError("Redis was lost earlier in this run")
        try:
            return method(self, *args, **kwargs)
        except REDIS_ERRORS:
            self.lost = True
            raise

    return call


class Shared:
    """The shared state of one archive in Redis, as one process (a worker or the writer) uses it."""

    def __init__(self, client: redis.Redis, keys: Keys, me: str | None = None) -> None:
        self.client = client
        self.keys = keys
        self.me = me or worker_id()
        #: Redis failed (could not be reached) in this process: every later call fails at once.
        self.lost = False
        #: The payload of each request this worker has taken, by article code.
        self.taken: dict[str, bytes] = {}
        scripts = {
            "push": _PUSH, "is_free": _IS_FREE, "pop": _POP, "hand_off": _HAND_OFF, "release": _RELEASE,
            "beat": _BEAT, "requeue": _REQUEUE_DEAD, "live": _LIVE, "done": _DONE, "set_aside": _SET_ASIDE,
            "lease": _LEASE, "take_over": _TAKE_OVER, "unlease": _UNLEASE,
        }  # fmt: skip
        self._scripts = {name: client.register_script(source) for name, source in scripts.items()}

    def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[name](keys=keys, args=args)

    @_guarded
    def ping(self) -> None:
        """Raises one of :data:`REDIS_ERRORS` when Redis does not answer."""
        self.client.ping()

    # --- claims and the shared request queue ----------------------------------------------

    @_guarded
    def push_request(
        self, queue: str, code: str, body: bytes, *, force: bool = False, follow_up: bool = False
    ) -> bool:
        """Queue *body* (a request for article *code*) unless someone has the article:
        queued, with a live worker (this process too, unless the request is a *follow_up*
        of its own), with the writer, resting; the claim becomes queued. *force*: queue
        it anyway (``-a codes``)."""
        keys = [queue, self.keys.claims, self.keys.workers, self.keys.taken(self.me)]
        before = self.taken.get(code, b"") if follow_up else b""
        args: list[Any] = [code, self.me, frame(code, body), _flag(force), _flag(follow_up), before]
        pushed = bool(self._run("push", keys, args))
        if pushed and before:
            del self.taken[code]
        return pushed

    @_guarded
    def is_free(self, queue: str, code: str, *, follow_up: bool = False) -> bool:
        """This process may queue article *code* in *queue* (see :meth:`push_request`)."""
        keys = [queue, self.keys.claims, self.keys.workers]
        return bool(self._run("is_free", keys, [code, self.me, _flag(follow_up)]))

    @_guarded
    def pop_request(self, queue: str) -> tuple[str, bytes] | None:
        """The oldest request of *queue* (code, body), kept in this worker's taken list,
        its article's claim now this worker's."""
        keys = [queue, self.keys.claims, self.keys.taken(self.me)]
        payload = self._run("pop", keys, [self.me])
        if not isinstance(payload, bytes):
            return None
        code, body = unframe(payload)
        self.taken[code] = payload
        return code, body

    @_guarded
    def release(self, codes: Iterable[str], hold: float = 0) -> int:
        """The end of this worker: give up its claims among *codes* (articles it tried and
        did not hand on: free for everyone *hold* seconds from now; archived or refused
        ones: deleted) and its taken list."""
        keys = [self.keys.claims, self.keys.taken(self.me), self.keys.known, self.keys.refused]
        args: list[Any] = [self.me, max(0, round(hold)), *codes]
        self.taken.clear()
        return int(self._run("release", keys, args))

    @_guarded
    def heartbeat(self, seconds: float, queue: str) -> int:
        """This worker is alive for *seconds* more (its claims hold that long), taking from
        *queue*; then the requests of workers whose heartbeat ran out are queued again
        (returns how many)."""
        self._run(
            "beat", [self.keys.workers, self.keys.worker_queues], [self.me, max(1, round(seconds)), queue]
        )
        keys = [self.keys.workers, self.keys.worker_queues, self.keys.claims]
        return int(self._run("requeue", keys, [self.keys.taken_prefix]))

    @_guarded
    def hand_back(self) -> int:
        """This worker is stopped before its end (a drain): the requests it has taken go
        back to the head of its queue, as a dead worker's would; returns how many."""
        self.client.zadd(self.keys.workers, {self.me: 0})
        self.taken.clear()
        keys = [self.keys.workers, self.keys.worker_queues, self.keys.claims]
        return int(self._run("requeue", keys, [self.keys.taken_prefix]))

    @_guarded
    def leave(self) -> None:
        """This worker stops: it is no longer a live worker."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.workers, self.me)
            pipe.hdel(self.keys.worker_queues, self.me)
            pipe.execute()

    @_guarded
    def live_workers(self) -> int:
        return int(self._run("live", [self.keys.workers], []))

    # --- the items queue: workers -> the writer ---------------------------------------------

    @_guarded
    def hand_off(self, code: str, message: bytes) -> None:
        """Give the writer *message* about article *code*: the claim and the request go with it (one script)."""
        keys = [self.keys.items, self.keys.claims, self.keys.taken(self.me)]
        self._run("hand_off", keys, [code, frame(code, message), self.taken.pop(code, b"")])

    @_guarded
    def take(self) -> bytes | None:
        """The oldest message for the writer (``<code>\\n<body>``: :func:`unframe`), kept in
        the ``writing`` list until :meth:`done`."""
        message = self.client.lmove(self.keys.items, self.keys.writing, "LEFT", "RIGHT")
        return message if isinstance(message, bytes) else None

    @_guarded
    def recover(self) -> int:
        """Put back, in order and ahead of the others, the messages a killed writer had
        taken but not acknowledged; returns how many."""
        moved = 0
        while self.client.lmove(self.keys.writing, self.keys.items, "RIGHT", "LEFT") is not None:
            moved += 1
        return moved

    @_guarded
    def done(
        self,
        messages: Iterable[bytes],
        known: Iterable[str],
        refused: Iterable[tuple[str, str]],
        settled: Iterable[str],
    ) -> None:
        """Acknowledge *messages* and publish what became of their articles, in one script:
        *known* archived, *refused* refused for good; the writer's claims on the
        articles in *settled* are deleted (those neither known nor refused may be fetched
        again)."""
        items, codes, reasons = list(messages), list(known), list(refused)
        args: list[Any] = [len(items), *items, len(codes), *codes, 2 * len(reasons)]
        args += [part for pair in reasons for part in pair]
        args += list(settled)
        keys = [self.keys.writing, self.keys.claims, self.keys.known, self.keys.refused]
        self._run("done", keys, args)

    @_guarded
    def set_aside(self, message: bytes) -> None:
        """A message the writer cannot read: moved to the ``bad`` list, not lost; its article free again."""
        code, _ = unframe(message)
        self._run("set_aside", [self.keys.writing, self.keys.bad, self.keys.claims], [message, code])

    @_guarded
    def pending_items(self) -> int:
        return int(self.client.llen(self.keys.items))

    @_guarded
    def lease_writer(self, seconds: float) -> bool:
        """Take or renew the writer's lease for *seconds*; False when another writer has it."""
        return bool(self._run("lease", [self.keys.writer], [self.me, max(1, round(seconds))]))

    @_guarded
    def take_over_writer(self, seconds: float, holder: str) -> bool:
        """Take the writer's lease from *holder*, a writer known to be dead (still *holder*'s: one script)."""
        return bool(self._run("take_over", [self.keys.writer], [self.me, max(1, round(seconds)), holder]))

    @_guarded
    def writer_holder(self) -> str:
        holder = self.client.get(self.keys.writer)
        return holder.decode("utf-8", "replace") if isinstance(holder, bytes) else ""

    @_guarded
    def unlease_writer(self) -> None:
        self._run("unlease", [self.keys.writer], [self.me])

    # --- the shared view of the archive -------------------------------------------------------

    @_guarded
    def is_archived(self, code: str) -> bool:
        return bool(self.client.sismember(self.keys.known, code))

    @_guarded
    def rejection(self, code: str) -> str | None:
        reason = self.client.hget(self.keys.refused, code)
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else None

    @_guarded
    def view_state(self) -> tuple[str | None, int]:
        """The token of the published view and how many articles it holds."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.view)
            pipe.scard(self.keys.known)
            token, count = pipe.execute()
        return (token.decode() if isinstance(token, bytes) else None), int(count)

    @_guarded
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
            self.client.hset(staging_refused, mapping=cast(Any, dict(pairs)))
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
