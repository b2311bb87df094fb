"""The shared state in a real Redis: claims move with requests and items, a dead worker's
requests are queued again, the writer's messages survive a killed writer, the view is
replaced whole, one writer at a time."""

from __future__ import annotations

import os
import socket

import pytest
import redis

from newscrawler.distributed.shared import WRITER, Keys, Shared, frame, is_dead_here, unframe

CODE = "202204212352241873"
OTHER = "202204212352241874"
THIRD = "202204212352241875"
QUEUE = "test:eastmoney:requests"
FINEWS = "test:finews:requests"


def shared(client: redis.Redis, me: str, beat: bool = True) -> Shared:
    node = Shared(client, Keys("test"), me=me)
    if beat:
        node.heartbeat(30, QUEUE)
    return node


def claim(client: redis.Redis, code: str) -> str | None:
    value = client.hget("test:claims", code)
    return value.decode() if value is not None else None


def taken(client: redis.Redis, worker: str) -> list[bytes]:
    return list(client.lrange(f"test:taken:{worker}", 0, -1))


def die(client: redis.Redis, worker: str) -> None:
    """*worker*'s heartbeat runs out (set in the past, as Redis's clock sees it)."""
    client.zadd("test:workers", {worker: 1})


def test_a_queued_article_is_not_queued_again_by_anyone(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    assert a.push_request(QUEUE, CODE, b"payload")
    assert claim(redis_client, CODE) == f"q:{QUEUE}"
    assert not b.push_request(QUEUE, CODE, b"again")
    assert not a.push_request(QUEUE, CODE, b"again")
    assert not b.is_free(QUEUE, CODE)
    assert redis_client.lrange(QUEUE, 0, -1) == [frame(CODE, b"payload")]


def test_queued_in_another_spiders_queue_or_an_emptied_queue_is_free(redis_client: redis.Redis) -> None:
    a = shared(redis_client, "w:a")
    a.push_request(FINEWS, CODE, b"finews follow_shares")
    assert a.is_free(QUEUE, CODE) and not a.is_free(FINEWS, CODE)
    redis_client.delete(FINEWS)  # emptied by hand: its claims hold nothing
    assert a.is_free(FINEWS, CODE)


def test_pop_takes_the_request_and_the_claim_and_follow_ups_stay_with_the_taker(
    redis_client: redis.Redis,
) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    a.push_request(QUEUE, CODE, b"first")
    assert b.pop_request(QUEUE) == (CODE, b"first")
    assert claim(redis_client, CODE) == "w:b"
    assert taken(redis_client, "w:b") == [frame(CODE, b"first")]
    assert b.pop_request(QUEUE) is None
    # b's next text source for the same article: b may queue it, a may not, and b may not
    # announce it again (its own feed listing the article b is fetching).
    assert not a.push_request(QUEUE, CODE, b"x", follow_up=True)
    assert not b.push_request(QUEUE, CODE, b"announced again")
    assert b.push_request(QUEUE, CODE, b"second", follow_up=True)
    assert claim(redis_client, CODE) == f"q:{QUEUE}"
    assert taken(redis_client, "w:b") == []  # the follow-up is in the queue now


def test_a_dead_workers_taken_requests_are_queued_again(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    for code in (CODE, OTHER, THIRD):
        a.push_request(QUEUE, code, code.encode())
    a.pop_request(QUEUE)
    a.pop_request(QUEUE)
    a.hand_off(CODE, b"message")  # CODE is the writer's now
    die(redis_client, "w:a")
    assert b.is_free(QUEUE, OTHER)
    assert b.heartbeat(30, QUEUE) == 1  # OTHER, taken by a and neither handed on nor given up
    assert claim(redis_client, OTHER) == f"q:{QUEUE}" and claim(redis_client, CODE) == WRITER
    assert taken(redis_client, "w:a") == []
    assert [b.pop_request(QUEUE), b.pop_request(QUEUE), b.pop_request(QUEUE)] == [
        (OTHER, OTHER.encode()),
        (THIRD, THIRD.encode()),
        None,
    ]
    assert b.live_workers() == 1


def test_a_stopped_worker_hands_its_taken_requests_back(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    for code in (CODE, OTHER):
        a.push_request(QUEUE, code, code.encode())
    a.pop_request(QUEUE)
    assert a.hand_back() == 1
    assert claim(redis_client, CODE) == f"q:{QUEUE}" and taken(redis_client, "w:a") == []
    assert a.taken == {} and b.live_workers() == 1  # a is gone, b is alive
    assert b.pop_request(QUEUE) == (CODE, CODE.encode())  # at the head again


def test_force_queues_an_article_someone_has(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    a.push_request(QUEUE, CODE, b"r")
    assert b.push_request(QUEUE, CODE, b"explicit", force=True)
    assert redis_client.llen(QUEUE) == 2


def test_release_gives_back_only_the_callers_claims_and_forgets_archived_ones(
    redis_client: redis.Redis,
) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    for code in (CODE, OTHER, THIRD):
        a.push_request(QUEUE, code, code.encode())
    a.pop_request(QUEUE)
    b.pop_request(QUEUE)
    a.pop_request(QUEUE)
    redis_client.sadd("test:known", THIRD)  # skipped: archived meanwhile
    assert a.release([CODE, OTHER, THIRD], hold=60) == 2
    assert claim(redis_client, CODE).startswith("t:")  # type: ignore[union-attr]
    assert claim(redis_client, THIRD) is None
    assert claim(redis_client, OTHER) == "w:b"
    assert taken(redis_client, "w:a") == []
    assert not b.is_free(QUEUE, CODE)  # resting
    redis_client.hset("test:claims", CODE, "t:1")  # the rest is over
    assert b.push_request(QUEUE, CODE, b"again")
    assert a.release([]) == 0


def test_hand_off_moves_the_claim_and_the_request_with_the_message(redis_client: redis.Redis) -> None:
    a = shared(redis_client, "w:a")
    a.push_request(QUEUE, CODE, b"1")
    a.pop_request(QUEUE)
    a.hand_off(CODE, b"message")
    assert claim(redis_client, CODE) == WRITER
    assert redis_client.lrange("test:items", 0, -1) == [frame(CODE, b"message")]
    assert taken(redis_client, "w:a") == []
    assert a.release([CODE]) == 0  # no longer a's
    a.leave()
    assert a.live_workers() == 0
    assert not shared(redis_client, "w:c").is_free(QUEUE, CODE)  # the writer has it


def test_a_killed_writers_messages_are_taken_again_first_and_in_order(redis_client: redis.Redis) -> None:
    worker, writer = shared(redis_client, "w:a"), shared(redis_client, "writer", beat=False)
    for n in range(5):
        worker.hand_off("", f"m{n}".encode())
    first = [writer.take(), writer.take(), writer.take()]
    assert [unframe(m)[1] for m in first if m] == [b"m0", b"m1", b"m2"]
    writer.done([frame("", b"m1")], [], [], [])
    # killed here: m0 and m2 taken, not done
    assert writer.recover() == 2
    again = [writer.take() for _ in range(5)]
    assert [unframe(m)[1] if m else None for m in again] == [b"m0", b"m2", b"m3", b"m4", None]


def test_done_publishes_the_outcome_and_settles_only_the_writers_claims(redis_client: redis.Redis) -> None:
    worker, writer = shared(redis_client, "w:a"), shared(redis_client, "writer", beat=False)
    for code in (CODE, OTHER, THIRD):
        worker.hand_off(code, code.encode())
    taken_messages = [writer.take(), writer.take(), writer.take()]
    redis_client.hset("test:claims", THIRD, "w:b")  # fetched again meanwhile (-a codes)
    writer.done([m for m in taken_messages if m], [CODE], [(OTHER, "dropped/no_date")], [CODE, OTHER, THIRD])
    assert redis_client.llen("test:items:writing") == 0
    assert worker.is_archived(CODE) and not worker.is_archived(OTHER)
    assert worker.rejection(OTHER) == "dropped/no_date" and worker.rejection(CODE) is None
    assert claim(redis_client, CODE) is None and claim(redis_client, OTHER) is None
    assert claim(redis_client, THIRD) == "w:b"


def test_publish_replaces_the_whole_view(redis_client: redis.Redis) -> None:
    writer = shared(redis_client, "writer", beat=False)
    writer.publish("t1", iter([CODE, OTHER]), iter([(THIRD, "dropped/no_title")]))
    assert writer.view_state() == ("t1", 2) and writer.is_archived(OTHER)
    writer.publish("t2", iter([CODE]), iter([]))
    assert writer.view_state() == ("t2", 1)
    assert writer.is_archived(CODE) and not writer.is_archived(OTHER)
    assert writer.rejection(THIRD) is None
    many = (f"2022042123{n:08d}" for n in range(25_000))
    assert writer.publish("t3", many, iter([])) == 25_000
    assert redis_client.scard("test:known") == 25_000


def test_set_aside_keeps_a_bad_message_and_frees_its_article(redis_client: redis.Redis) -> None:
    worker, writer = shared(redis_client, "w:a"), shared(redis_client, "writer", beat=False)
    worker.hand_off(CODE, b"garbage")
    message = writer.take()
    assert message == frame(CODE, b"garbage")
    writer.set_aside(message)
    assert redis_client.lrange("test:items:bad", 0, -1) == [frame(CODE, b"garbage")]
    assert writer.pending_items() == 0 and redis_client.llen("test:items:writing") == 0
    assert claim(redis_client, CODE) is None and worker.is_free(QUEUE, CODE)


def test_one_writer_at_a_time(redis_client: redis.Redis) -> None:
    first, second = shared(redis_client, "writer-1", beat=False), shared(redis_client, "writer-2", beat=False)
    assert first.lease_writer(30) and first.lease_writer(30)
    assert not second.lease_writer(30)
    assert second.writer_holder() == "writer-1"
    second.unlease_writer()  # not its lease: nothing happens
    assert not second.lease_writer(30)
    first.unlease_writer()
    assert second.lease_writer(30)
    assert not first.take_over_writer(30, "someone else")
    assert first.take_over_writer(30, "writer-2") and first.writer_holder() == "writer-1"


def test_a_dead_process_of_this_host() -> None:
    host = socket.gethostname()
    assert not is_dead_here(f"w:{host}:{os.getpid()}:abc")  # this very process
    assert not is_dead_here(f"w:another-host:{os.getpid()}:abc")
    assert is_dead_here(f"w:{host}:{2**22 + 12345}:abc")  # above pid_max: no such process


def test_after_a_failure_every_call_fails_at_once(redis_client: redis.Redis) -> None:
    node = Shared(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1), Keys("test"), me="w:x")
    with pytest.raises(redis.exceptions.ConnectionError, match=r"Connection refused|connecting"):
        node.ping()
    assert node.lost
    with pytest.raises(redis.exceptions.ConnectionError, match="lost earlier in this run"):
        node.is_archived(CODE)
