"""The shared state in a real Redis: claims move with requests and items, heartbeats run
out, the writer's messages survive a killed writer, the view is replaced whole."""

from __future__ import annotations

import redis

from newscrawler.distributed.shared import QUEUED, WRITER, Keys, Shared

CODE = "202204212352241873"
OTHER = "202204212352241874"
QUEUE = "test:eastmoney:requests"


def shared(client: redis.Redis, me: str) -> Shared:
    return Shared(client, Keys("test"), me=me)


def claim(client: redis.Redis, code: str) -> str | None:
    value = client.hget("test:claims", code)
    return value.decode() if value is not None else None


def test_a_queued_article_is_not_queued_again_by_anyone(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    a.heartbeat(30)
    b.heartbeat(30)
    assert a.push_request(QUEUE, CODE, b"payload")
    assert claim(redis_client, CODE) == QUEUED
    assert not b.push_request(QUEUE, CODE, b"again")
    assert not a.push_request(QUEUE, CODE, b"again")
    assert not b.is_free(CODE)
    assert redis_client.llen(QUEUE) == 1


def test_pop_makes_the_claim_the_poppers_and_its_follow_up_may_be_queued(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    a.heartbeat(30)
    b.heartbeat(30)
    a.push_request(QUEUE, CODE, CODE.encode() + b"\nfirst")
    assert b.pop_request(QUEUE) == CODE.encode() + b"\nfirst"
    assert claim(redis_client, CODE) == "w:b"
    assert b.pop_request(QUEUE) is None
    # b's next text source for the same article: b has it, so it may queue it; a may not,
    # nor may b announce it again (its own feed listing the article b is fetching).
    assert not a.push_request(QUEUE, CODE, b"x", follow_up=True)
    assert not b.push_request(QUEUE, CODE, b"announced again")
    assert b.push_request(QUEUE, CODE, CODE.encode() + b"\nsecond", follow_up=True)
    assert claim(redis_client, CODE) == QUEUED


def test_a_dead_workers_claims_are_free_again(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    a.heartbeat(30)
    a.push_request(QUEUE, CODE, CODE.encode() + b"\nr")
    a.pop_request(QUEUE)
    assert not b.is_free(CODE)
    # a's heartbeat runs out (set in the past, as Redis's clock sees it).
    redis_client.zadd("test:workers", {"w:a": 1})
    assert b.is_free(CODE)
    assert a.live_workers() == 0
    assert b.push_request(QUEUE, CODE, b"again")


def test_force_queues_an_article_someone_has(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    a.push_request(QUEUE, CODE, b"r")
    assert b.push_request(QUEUE, CODE, b"explicit", force=True)
    assert redis_client.llen(QUEUE) == 2


def test_release_gives_back_only_the_callers_claims(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    b.heartbeat(30)
    a.push_request(QUEUE, CODE, CODE.encode() + b"\n1")
    a.push_request(QUEUE, OTHER, OTHER.encode() + b"\n2")
    a.pop_request(QUEUE)
    b.pop_request(QUEUE)
    assert a.release([CODE, OTHER]) == 1
    assert claim(redis_client, CODE) is not None and b.is_free(CODE)
    assert claim(redis_client, OTHER) == "w:b"
    assert a.release([]) == 0


def test_a_released_claim_rests_before_anyone_tries_again(redis_client: redis.Redis) -> None:
    a, b = shared(redis_client, "w:a"), shared(redis_client, "w:b")
    a.heartbeat(30)
    a.push_request(QUEUE, CODE, CODE.encode() + b"\n1")
    a.pop_request(QUEUE)
    a.leave()
    assert a.release([CODE], hold=60) == 1
    assert not b.is_free(CODE) and not b.push_request(QUEUE, CODE, b"again")
    redis_client.hset("test:claims", CODE, "t:1")  # the rest is over
    assert b.push_request(QUEUE, CODE, b"again")


def test_hand_off_moves_the_claim_to_the_writer_with_the_message(redis_client: redis.Redis) -> None:
    a = shared(redis_client, "w:a")
    a.heartbeat(30)
    a.push_request(QUEUE, CODE, CODE.encode() + b"\n1")
    a.pop_request(QUEUE)
    a.hand_off(CODE, b"message")
    assert claim(redis_client, CODE) == WRITER
    assert redis_client.lrange("test:items", 0, -1) == [b"message"]
    assert a.release([CODE]) == 0  # no longer a's
    a.leave()
    assert a.live_workers() == 0
    assert not shared(redis_client, "w:c").is_free(CODE)  # the writer has it


def test_a_killed_writers_messages_are_taken_again_first_and_in_order(redis_client: redis.Redis) -> None:
    worker, writer = shared(redis_client, "w:a"), shared(redis_client, "writer")
    for n in range(5):
        worker.hand_off("", f"m{n}".encode())
    assert [writer.take(), writer.take(), writer.take()] == [b"m0", b"m1", b"m2"]
    writer.done([b"m1"], [], [], [])
    # killed here: m0 and m2 taken, not done
    assert writer.recover() == 2
    assert [writer.take() for _ in range(5)] == [b"m0", b"m2", b"m3", b"m4", None]


def test_done_publishes_the_outcome_and_settles_the_claims(redis_client: redis.Redis) -> None:
    worker, writer = shared(redis_client, "w:a"), shared(redis_client, "writer")
    worker.hand_off(CODE, b"a")
    worker.hand_off(OTHER, b"b")
    third = "202204212352241875"
    worker.hand_off(third, b"c")
    taken = [writer.take(), writer.take(), writer.take()]
    writer.done([m for m in taken if m], [CODE], [(OTHER, "dropped/no_date")], [CODE, OTHER, third])
    assert redis_client.llen("test:items:writing") == 0
    assert worker.is_archived(CODE) and not worker.is_archived(OTHER)
    assert worker.rejection(OTHER) == "dropped/no_date" and worker.rejection(CODE) is None
    assert worker.is_free(third)  # neither archived nor refused: a later run fetches it


def test_publish_replaces_the_whole_view(redis_client: redis.Redis) -> None:
    writer = shared(redis_client, "writer")
    writer.publish("t1", iter([CODE, OTHER]), iter([("202204212352241875", "dropped/no_title")]))
    assert writer.view_token() == "t1" and writer.is_archived(OTHER)
    writer.publish("t2", iter([CODE]), iter([]))
    assert writer.view_token() == "t2"
    assert writer.is_archived(CODE) and not writer.is_archived(OTHER)
    assert writer.rejection("202204212352241875") is None
    many = (f"2022042123{n:08d}" for n in range(25_000))
    assert writer.publish("t3", many, iter([])) == 25_000
    assert redis_client.scard("test:known") == 25_000


def test_set_aside_keeps_a_bad_message(redis_client: redis.Redis) -> None:
    worker, writer = shared(redis_client, "w:a"), shared(redis_client, "writer")
    worker.hand_off("", b"garbage")
    message = writer.take()
    assert message == b"garbage"
    writer.set_aside(message)
    assert redis_client.lrange("test:items:bad", 0, -1) == [b"garbage"]
    assert writer.pending_items() == 0 and redis_client.llen("test:items:writing") == 0


def test_queued_requests_counts_every_spiders_queue(redis_client: redis.Redis) -> None:
    a = shared(redis_client, "w:a")
    a.push_request(QUEUE, CODE, b"1")
    a.push_request("test:finews:requests", OTHER, b"2")
    assert a.queued_requests() == 2
