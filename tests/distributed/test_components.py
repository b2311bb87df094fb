"""The distributed mode's Scrapy components, built in-process with ``get_crawler``: what
REDIS_URL switches (and that nothing changes without it), the writer spider's settings,
a worker's session and hand-off against a real Redis."""

from __future__ import annotations

from datetime import datetime

import pytest
import redis
from scrapy import Spider
from scrapy.exceptions import DropItem, NotConfigured, UsageError
from scrapy.utils.test import get_crawler

from newscrawler.archive.session import ArchiveSession
from newscrawler.dates import BEIJING
from newscrawler.dev.redis import RedisServer
from newscrawler.dev.server import closed_port
from newscrawler.distributed.messages import ArticleMessage, RefusalMessage, decode
from newscrawler.distributed.pipeline import HandOffPipeline
from newscrawler.distributed.shared import unframe
from newscrawler.items import Article
from newscrawler.pipelines.dedup import DedupPipeline
from newscrawler.pipelines.write import WritePostPipeline
from newscrawler.spiders.eastmoney import EastmoneySpider
from newscrawler.spiders.writer import WriterSpider
from tests.conftest import project_settings

CODE = "202204212352241873"


def read(data: object) -> object:
    assert isinstance(data, bytes)
    code, body = unframe(data)
    message = decode(body)
    assert code == getattr(message, "code", None) or code == message.article.code  # type: ignore[attr-defined]
    return message


def enabled_pipelines(spider: type[Spider], **settings: object) -> set[str]:
    crawler = get_crawler(spider, settings_dict=project_settings(**settings))
    return {name for name, order in crawler.settings.getdict("ITEM_PIPELINES").items() if order is not None}


def test_without_redis_url_nothing_changes() -> None:
    crawler = get_crawler(EastmoneySpider, settings_dict=project_settings())
    assert crawler.settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
    assert enabled_pipelines(EastmoneySpider) == set(project_settings()["ITEM_PIPELINES"])
    assert ArchiveSession.from_crawler(crawler).shared is None
    assert ArchiveSession.from_crawler(crawler).config.mode == "single"


def test_a_worker_shares_its_scheduler_and_hands_its_articles_on() -> None:
    settings = {"REDIS_URL": "redis://127.0.0.1:1/0"}
    crawler = get_crawler(EastmoneySpider, settings_dict=project_settings(**settings))
    assert crawler.settings["SCHEDULER"] == "newscrawler.distributed.scheduler.SharedScheduler"
    pipelines = enabled_pipelines(EastmoneySpider, **settings)
    assert pipelines == {
        "newscrawler.pipelines.validate.ValidatePipeline",
        "newscrawler.pipelines.clean.CleanPipeline",
        "newscrawler.distributed.pipeline.HandOffPipeline",
    }
    assert ArchiveSession.from_crawler(crawler).config.mode == "worker"
    # Put back by hand, the archive's pipelines refuse to run in a worker.
    with pytest.raises(NotConfigured):
        DedupPipeline.from_crawler(crawler)
    with pytest.raises(NotConfigured):
        WritePostPipeline.from_crawler(crawler)


def test_the_writer_runs_the_archive_pipelines_on_scrapys_scheduler() -> None:
    settings = {"REDIS_URL": "redis://127.0.0.1:1/0", "NEWSCRAWLER_ROLE": "worker"}
    crawler = get_crawler(WriterSpider, settings_dict=project_settings(**settings))
    assert crawler.settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
    assert enabled_pipelines(WriterSpider, **settings) == {
        "newscrawler.pipelines.dedup.DedupPipeline",
        "newscrawler.pipelines.images.ImageArchivePipeline",
        "newscrawler.pipelines.write.WritePostPipeline",
    }
    # (NEWSCRAWLER_ROLE given by hand does not make the writer a worker.)
    assert ArchiveSession.from_crawler(crawler).config.mode == "writer"


def test_the_writer_needs_redis_and_takes_no_arguments() -> None:
    with pytest.raises(UsageError, match="needs -s REDIS_URL"):
        WriterSpider.check_arguments(get_crawler(WriterSpider, project_settings()).settings, {})
    settings = get_crawler(WriterSpider, project_settings(REDIS_URL="redis://x/0")).settings
    with pytest.raises(UsageError, match="takes no arguments"):
        WriterSpider.check_arguments(settings, {"feeds": "x"})
    WriterSpider.check_arguments(settings, {})


def worker_session(url: str) -> tuple[ArchiveSession, object]:
    crawler = get_crawler(EastmoneySpider, settings_dict=project_settings(REDIS_URL=url))
    return ArchiveSession.from_crawler(crawler), crawler


def test_a_worker_asks_the_shared_view_and_never_opens_the_archive(redis_server: RedisServer) -> None:
    session, _ = worker_session(redis_server.url)
    client = redis.Redis.from_url(redis_server.url)
    client.sadd("newscrawler:known", CODE)
    client.hset("newscrawler:refused", "202204212352241874", "dropped/no_date")
    assert session.is_archived(CODE) and session.is_known(CODE)
    assert session.rejection("202204212352241874") == "dropped/no_date"
    assert not session.is_known("202204212352241875")
    with pytest.raises(RuntimeError, match="does not open the archive"):
        session.open()
    session.reject("202204212352241875", "dropped/no_title")
    assert read(client.lpop("newscrawler:items")) == RefusalMessage("202204212352241875", "dropped/no_title")  # type: ignore[arg-type]


def test_a_worker_without_redis_fetches_rather_than_skips() -> None:
    session, _ = worker_session(f"redis://127.0.0.1:{closed_port()}/0")
    assert not session.is_archived(CODE)
    assert session.rejection(CODE) is None


def article() -> Article:
    return Article(
        code=CODE,
        title="标题",
        date=datetime(2022, 4, 21, 10, tzinfo=BEIJING),
        outlet="财联社",
        body="<p>x</p>",
    )


def test_hand_off_sends_the_article_with_the_sites_slug(redis_server: RedisServer) -> None:
    session, crawler = worker_session(redis_server.url)
    session.run.slugs["财联社"] = "cls"
    pipeline = HandOffPipeline.from_crawler(crawler)  # type: ignore[arg-type]
    item = article()
    assert pipeline.process_item(item) is item
    client = redis.Redis.from_url(redis_server.url)
    assert read(client.lpop("newscrawler:items")) == ArticleMessage(item, "cls")
    assert client.hget("newscrawler:claims", CODE) == b"writer"
    assert crawler.stats.get_value("newscrawler/distributed/handed_off") == 1  # type: ignore[attr-defined]


def test_hand_off_without_redis_drops_the_item_counted() -> None:
    session, crawler = worker_session(f"redis://127.0.0.1:{closed_port()}/0")
    pipeline = HandOffPipeline.from_crawler(crawler)  # type: ignore[arg-type]
    with pytest.raises(DropItem, match="Redis did not answer"):
        pipeline.process_item(article())
    assert crawler.stats.get_value("newscrawler/errors/redis_lost") == 1  # type: ignore[attr-defined]
    assert session.run.lost == [{"code": CODE, "url": "", "reason": "errors/redis_lost"}]
