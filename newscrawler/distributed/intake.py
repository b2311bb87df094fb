"""The writer's side of the items queue (no Scrapy): messages taken from Redis, the
articles they carry followed through the pipelines, acknowledged by what the store says
became of them, and the shared view of the archive kept in step (docs/distributed.md).

A message is acknowledged only after a store commit, and only for an article the store
has (archived) or has refused; the writer's claim on it is then settled. A message whose
article the writer could not write (an OS error) is left in the ``writing`` list: the
next writer takes it again, first.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from newscrawler.dedup.store.base import SeenStore
from newscrawler.distributed.messages import ArticleMessage, Message, RefusalMessage, decode
from newscrawler.distributed.shared import Shared, unframe

logger = logging.getLogger(__name__)

#: ``meta`` key of the store: the token of the shared view last published from it.
META_SHARED_VIEW = "redis_view"


@dataclass
class Intake:
    shared: Shared
    #: In the pipelines, not yet committed (``RunState.run_store.has``).
    pending: Callable[[str], bool]
    #: Messages whose article is in the pipelines: key -> (message, code).
    in_flight: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    #: Messages whose article is through the pipelines, to acknowledge after a commit.
    finished: list[tuple[bytes, str]] = field(default_factory=list)
    #: Messages left for the next writer (their article could not be written).
    left: int = 0

    def read(self, message: bytes) -> Message:
        """The message in *message*; raises :class:`~newscrawler.distributed.messages.BadMessage`
        (then :meth:`Shared.set_aside` it)."""
        return decode(unframe(message)[1])

    def track(self, key: int, message: bytes, decoded: Message) -> None:
        """*decoded* goes into the pipelines (an article, under *key*) or is done with now (a refusal)."""
        if isinstance(decoded, RefusalMessage):
            self.finished.append((message, decoded.code))
        else:
            assert isinstance(decoded, ArticleMessage)
            self.in_flight[key] = (message, decoded.article.code)

    def through(self, key: int) -> None:
        """The article under *key* is through the pipelines (written, dropped or failed)."""
        entry = self.in_flight.pop(key, None)
        if entry is not None:
            self.finished.append(entry)

    def acknowledge(self, store: SeenStore) -> None:
        """After a commit: the finished messages whose article the store has or refused are
        done with (their codes published, their claims settled); those still waiting for
        a commit stay; the others (not written: an error) are left in ``writing``."""
        if not self.finished:
            return
        done: list[bytes] = []
        known: list[str] = []
        refused: list[tuple[str, str]] = []
        waiting: list[tuple[bytes, str]] = []
        for message, code in self.finished:
            if store.has(code):
                known.append(code)
            elif (reason := store.rejection(code)) is not None:
                refused.append((code, reason))
            elif self.pending(code):
                waiting.append((message, code))
                continue
            else:
                self.left += 1
                logger.warning("Article %s was not written: its message waits for the next writer", code)
                continue
            done.append(message)
        self.finished = waiting
        if done:
            self.shared.done(done, known, refused, settled=[*known, *(code for code, _ in refused)])

    def publish_view(self, store: SeenStore) -> int | None:
        """Publish the archive's codes and refusals to Redis when the view there is not
        this store's, or does not hold as many articles (a first run, a rebuilt or restored
        store, a Redis that lost its data, posts a single-process run added); the number
        published, or None when the view was up to date."""
        token = store.get_meta(META_SHARED_VIEW)
        published_token, count = self.shared.view_state()
        if token is not None and token == published_token and count == store.count():
            return None
        started = time.monotonic()
        token = uuid.uuid4().hex
        published = self.shared.publish(token, store.iter_codes(), store.iter_rejections())
        store.set_meta(META_SHARED_VIEW, token)
        logger.info(
            "Published the shared view of the archive to Redis: %d articles in %.1f s",
            published,
            time.monotonic() - started,
        )
        return published
