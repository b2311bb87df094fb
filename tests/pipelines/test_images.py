"""``ImageArchivePipeline`` as a component: built with get_crawler, its MediaPipeline hooks
called in process with made-up responses (no downloads)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadTimeoutError, NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from newscrawler.items import Article
from newscrawler.pipelines.images import ImageArchivePipeline, ImageNotArchived
from tests.conftest import project_settings

PAGE = "http://127.0.0.1:9/a/202204222353030078.html"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
GIF = b"GIF89a" + b"\x01" * 32
BODY = (
    '<p>正文</p><p><img src="http://127.0.0.1:9/img/a.png"></p>'
    '<p><img src="/img/b.gif" alt="b"></p>'
    '<p><img src="http://webquotepic.eastmoney.com/GetPic.aspx?id=1&amp;imageType=k"></p>'
    '<p><img src="/assets/images/old.png"></p>'
)


def _crawler(archive: Path, **settings: Any) -> Crawler:
    crawler = get_crawler(settings_dict=project_settings(ARCHIVE_DIR=str(archive), **settings))
    assert crawler.stats is not None
    crawler.stats.open_spider()
    return crawler


def _stat(crawler: Crawler, name: str) -> int:
    assert crawler.stats is not None
    return int(crawler.stats.get_value(f"newscrawler/images/{name}", 0))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def crawler(archive: Path) -> Crawler:
    return _crawler(archive, ARCHIVE_IMAGES=True)


@pytest.fixture
def pipeline(crawler: Crawler) -> ImageArchivePipeline:
    return ImageArchivePipeline.from_crawler(crawler)


def _article(body: str = BODY) -> Article:
    return Article(code="202204222353030078", kind="outlet", body=body, url=PAGE)


def _downloaded(pipeline: ImageArchivePipeline, request: Request, response: Response) -> Any:
    return asyncio.run(pipeline.media_downloaded(response, request, None))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, False, "false", "0"])
def test_off_unless_archive_images(archive: Path, value: object, caplog: pytest.LogCaptureFixture) -> None:
    settings = {} if value is None else {"ARCHIVE_IMAGES": value}
    with (
        caplog.at_level(logging.DEBUG, logger="newscrawler.pipelines.images"),
        pytest.raises(NotConfigured) as excinfo,
    ):
        ImageArchivePipeline.from_crawler(_crawler(archive, **settings))
    # Off by default, so silent: no message (Scrapy would log one as a warning), a DEBUG line.
    assert str(excinfo.value) == ""
    assert [r.levelno for r in caplog.records if "ARCHIVE_IMAGES" in r.getMessage()] == [logging.DEBUG]
    assert not archive.exists()  # nothing made for it


def test_on_it_stores_under_the_archive(pipeline: ImageArchivePipeline, archive: Path) -> None:
    assert pipeline.images_dir == archive.resolve() / "assets" / "images"
    assert project_settings()["ITEM_PIPELINES"]["newscrawler.pipelines.images.ImageArchivePipeline"] == 350


def test_requests_for_the_body_images_but_not_charts(
    pipeline: ImageArchivePipeline, crawler: Crawler
) -> None:
    requests = pipeline.get_media_requests(_article(), None)  # type: ignore[arg-type]
    assert [r.url for r in requests] == ["http://127.0.0.1:9/img/a.png", "http://127.0.0.1:9/img/b.gif"]
    assert _stat(crawler, "skipped_dynamic") == 1
    assert pipeline.get_media_requests(_article(body=""), None) == []  # type: ignore[arg-type]
    assert pipeline.get_media_requests({"body": BODY}, None) == []  # type: ignore[arg-type]


def test_a_downloaded_image_is_stored_by_its_content(pipeline: ImageArchivePipeline, archive: Path) -> None:
    request = Request("http://127.0.0.1:9/img/a.png")
    response = Response(request.url, body=PNG, headers={"Content-Type": "image/png"}, request=request)
    info = _downloaded(pipeline, request, response)
    name = f"{hashlib.sha1(PNG, usedforsecurity=False).hexdigest()}.png"
    assert info == {
        "url": request.url,
        "path": name,
        "checksum": hashlib.sha1(PNG, usedforsecurity=False).hexdigest(),
        "status": "downloaded",
    }
    assert (archive / "assets" / "images" / name).read_bytes() == PNG
    assert _downloaded(pipeline, request, response)["status"] == "uptodate"  # same bytes: not rewritten
    assert sorted(p.name for p in (archive / "assets" / "images").iterdir()) == [name]


@pytest.mark.parametrize(
    ("status", "body", "content_type", "reason"),
    [
        (404, PNG, "image/png", "http_404"),
        (200, b"", "image/png", "empty"),
        (200, b"<html><body>not found</body></html>", "image/png", "not_an_image"),
        (200, b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/svg+xml", "not_an_image"),
    ],
    ids=["http_404", "empty", "html", "svg"],
)
def test_what_is_not_an_image_is_not_stored(
    pipeline: ImageArchivePipeline, status: int, body: bytes, content_type: str, reason: str
) -> None:
    request = Request("http://127.0.0.1:9/img/a.png")
    response = Response(
        request.url, status=status, body=body, headers={"Content-Type": content_type}, request=request
    )
    with pytest.raises(ImageNotArchived, match=f"^{reason}$"):
        _downloaded(pipeline, request, response)
    assert list(pipeline.images_dir.iterdir()) == []  # (FilesPipeline makes the folder at start)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (DownloadTimeoutError("took longer than 30 seconds"), "timeout"),
        (HttpError(Response("http://127.0.0.1:9/img/a.png", status=503)), "http_503"),
        (ImageNotArchived("not_an_image"), "not_an_image"),
    ],
)
def test_a_failed_download_gets_its_reason(
    pipeline: ImageArchivePipeline, exc: Exception, reason: str
) -> None:
    with pytest.raises(ImageNotArchived, match=f"^{reason}$"):
        pipeline.media_failed(Failure(exc), Request("http://127.0.0.1:9/img/a.png"), None)  # type: ignore[arg-type]


def test_the_post_points_at_the_stored_copies(pipeline: ImageArchivePipeline, crawler: Crawler) -> None:
    item = _article()
    results = [
        (
            True,
            {
                "url": "http://127.0.0.1:9/img/a.png",
                "path": "ab.png",
                "checksum": "ab",
                "status": "downloaded",
            },
        ),
        (False, Failure(ImageNotArchived("http_404"))),
    ]
    out = pipeline.item_completed(results, item, None)  # type: ignore[arg-type]
    assert out is item
    assert '<img src="/assets/images/ab.png">' in item.body
    assert '<img src="/img/b.gif" alt="b">' in item.body  # failed: keeps its URL
    assert "GetPic.aspx" in item.body and "/assets/images/old.png" in item.body  # left alone
    assert (_stat(crawler, "stored"), _stat(crawler, "failed")) == (1, 1)
    assert pipeline.item_completed([], _article(), None).body == BODY  # type: ignore[arg-type]
