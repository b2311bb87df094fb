"""The writer's intake, with a real Redis and a memory store: a message is acknowledged
only for an article the store has or refused; one the writer failed to write waits for
the next writer; the shared view is published again when it is not the store's."""

from __future__ import annotations

from datetime import datetime

import redis

from newscrawler.dates import BEIJING
from newscrawler.dedup.fingerprint import fingerprint
from newscrawler.dedup.store.base import StoredArticle
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.distributed.intake import Intake
from newscrawler.distributed.messages import ArticleMessage, encode_article, encode_refusal
from newscrawler.distributed.shared import Keys, Shared
from newscrawler.items import Article

CODES = [f"2022042123522418{n:02d}" for n in range(4)]


def record(code: str) -> StoredArticle:
    return StoredArticle.of(
        code=code, path=f"_posts/2022-04-21-NW{code}.md", kind="outlet", slug="cls",
        fingerprint=fingerprint("正文" * 80 + code), date="2022-04-21 10:00:00 +0800",
    )  # fmt: skip


def test_only_what_the_store_settled_is_acknowledged(redis_client: redis.Redis) -> None:
    worker, writer = Shared(redis_client, Keys("t"), me="w:a"), Shared(redis_client, Keys("t"), me="writer")
    pending: set[str] = set()
    intake = Intake(writer, pending=pending.__contains__)
    written, refused, waiting, failed = CODES
    for code in (written, waiting, failed):
        article = Article(
            code=code, title="t", date=datetime(2022, 4, 21, tzinfo=BEIJING), outlet="o", body="<p>x</p>"
        )
        worker.hand_off(code, encode_article(article))
    worker.hand_off(refused, encode_refusal(refused, "dropped/no_date"))
    keys = {}
    for n in range(4):
        message = writer.take()
        assert message is not None
        decoded = intake.read(message)
        intake.track(n + 1, message, decoded)
        if isinstance(decoded, ArticleMessage):
            keys[decoded.article.code] = n + 1
    for code in (written, waiting, failed):
        intake.through(keys[code])
    store = MemoryStore()
    store.add(record(written))
    store.reject_many([(refused, "dropped/no_date")])
    pending.add(waiting)  # its batch is not committed yet

    intake.acknowledge(store)
    assert intake.left == 1  # failed: not written, not pending
    assert [code for _, code in intake.finished] == [waiting]
    assert redis_client.llen("t:items:writing") == 2  # waiting and failed
    assert redis_client.sismember("t:known", written) and redis_client.hget("t:refused", refused)
    assert redis_client.hget("t:claims", failed) == b"writer"  # nobody fetches it: the next writer has it

    pending.clear()
    store.add(record(waiting))
    intake.acknowledge(store)
    assert intake.finished == [] and redis_client.llen("t:items:writing") == 1
    assert writer.recover() == 1  # the failed one, for the next writer


def test_the_view_is_published_again_when_it_is_not_the_stores(redis_client: redis.Redis) -> None:
    writer = Shared(redis_client, Keys("t"), me="writer")
    intake = Intake(writer, pending=lambda code: False)
    store = MemoryStore()
    for code in CODES[:3]:
        store.add(record(code))
    assert intake.publish_view(store) == 3
    assert intake.publish_view(store) is None  # up to date
    store.add(record(CODES[3]))  # a single-process run added a post
    assert intake.publish_view(store) == 4
    redis_client.srem("t:known", CODES[0])  # Redis lost some of it
    assert intake.publish_view(store) == 4
    restored = MemoryStore()  # a store restored from an older backup
    for code in CODES[:2]:
        restored.add(record(code))
    restored.set_meta("redis_view", store.get_meta("redis_view") or "")
    assert intake.publish_view(restored) == 2
    assert not redis_client.sismember("t:known", CODES[3])
