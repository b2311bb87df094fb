"""Item pipeline that archives the images of post bodies (``ARCHIVE_IMAGES``).

A :class:`scrapy.pipelines.files.FilesPipeline` (not ``ImagesPipeline``: images are
stored as the exact bytes served, never re-encoded). For each article it downloads the
``<img src>`` of the cleaned body through Scrapy's engine (so downloads are retried,
throttled, recorded in the WARC files like any other request), stores each image as
``<ARCHIVE_DIR>/assets/images/<sha1 of the bytes>.<ext>`` (atomically, never outside
``ARCHIVE_DIR``) and rewrites the ``src`` to ``/assets/images/<name>``. It only touches
``Article.body``.

* A failed download (HTTP error, timeout, not an image) keeps the original URL in the
  post; it is logged with the URL and the reason and counted as
  ``newscrawler/images/failed``. Stored images count as ``newscrawler/images/stored``.
* eastmoney's generated charts (``GetPic.aspx``, any host) are never requested:
  ``newscrawler/images/skipped_dynamic``.
* Files are named by their content, known only after the download, so every image
  of a new article is downloaded (within a run, a URL is downloaded once); an image
  whose bytes are already stored is not rewritten.

Priority 350: after CleanPipeline (200, which makes image URLs absolute and safe) and
DedupPipeline (300: no downloads for duplicates), before WritePostPipeline (400).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.media import FileException, FileInfo, FileInfoOrError, MediaPipeline

from newscrawler.archive.fsutil import atomic_write, confined
from newscrawler.archive.images import (
    asset_name,
    image_extension,
    plan_images,
    rewrite_image_sources,
    site_path,
)
from newscrawler.archive.layout import ASSETS_DIR
from newscrawler.archive.session import ArchiveSession
from newscrawler.items import Article
from newscrawler.outcomes import Counters, failure_reason

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    _QuietFileException = FileException
else:
    try:
        # MediaPipeline logs every failed download with a traceback at ERROR level,
        # except "filtered" ones; ours are expected and logged once, by item_completed.
        from scrapy.pipelines.media import _MediaRequestFiltered as _QuietFileException
    except ImportError:  # pragma: no cover - other Scrapy versions
        _QuietFileException = FileException


class ImageNotArchived(_QuietFileException):
    """Why an image was not archived: ``http_404``, ``timeout``, ``not_an_image`` ..."""


class ImageArchivePipeline(FilesPipeline):
    """Stores the images of post bodies under ``assets/images/`` and points the posts there."""

    #: Failures are logged here, one line each, not by MediaPipeline with a traceback.
    LOG_FAILED_RESULTS = False

    def __init__(self, archive_dir: Path, *, crawler: Crawler) -> None:
        self.archive_dir = archive_dir
        self.images_dir = archive_dir.resolve() / ASSETS_DIR
        super().__init__(str(self.images_dir), crawler=crawler)
        self.counters = Counters(crawler.stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ImageArchivePipeline:
        if not crawler.settings.getbool("ARCHIVE_IMAGES"):
            logger.debug("Image archiving is off (ARCHIVE_IMAGES)")
            raise NotConfigured  # off by default: no warning
        return cls(ArchiveSession.from_crawler(crawler).config.archive_dir, crawler=crawler)

    # ------------------------------------------------------------ MediaPipeline hooks

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        if not isinstance(item, Article) or not item.body:
            return []
        plan = plan_images(item.body, item.url)
        if plan.dynamic:
            self.counters.inc("images", "skipped_dynamic", count=len(plan.dynamic))
            logger.debug("Article %s: %d dynamic chart image(s) not archived", item.code, len(plan.dynamic))
        return [Request(url, callback=NO_CALLBACK) for _, url in plan.downloads]

    def media_to_download(
        self, request: Request, info: MediaPipeline.SpiderInfo, *, item: Any = None
    ) -> Deferred[FileInfo | None] | None:
        # Names come from the content: nothing to look up before downloading.
        return None

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: MediaPipeline.SpiderInfo | None = None,
        *,
        item: Any = None,
    ) -> str:
        """``<sha1>.<ext>`` of the downloaded bytes, relative to ``assets/images/``."""
        if response is None:
            # Only known after the download; Scrapy's URL-hash name as a placeholder.
            return super().file_path(request, None, info, item=item)
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        ext = image_extension(response.body, content_type, response.url)
        if ext is None:
            raise ImageNotArchived("not_an_image")
        return asset_name(response.body, ext)

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> FileInfo:
        if response.status != 200:
            raise ImageNotArchived(f"http_{response.status}")
        if not response.body:
            raise ImageNotArchived("empty")
        name = self.file_path(request, response=response, info=info, item=item)
        path = confined(self.archive_dir, f"{ASSETS_DIR}/{name}")
        written = atomic_write(path, response.body)
        status = "downloaded" if written else "uptodate"
        logger.debug("Image %s %s as %s", request.url, status, name)
        return {
            "url": request.url,
            "path": name,
            "checksum": hashlib.sha1(response.body, usedforsecurity=False).hexdigest(),
            "status": status,
        }

    def media_failed(self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo) -> NoReturn:
        if isinstance(failure.value, ImageNotArchived):
            raise failure.value
        raise ImageNotArchived(failure_reason(failure)) from failure.value

    def item_completed(
        self, results: list[FileInfoOrError], item: Any, info: MediaPipeline.SpiderInfo
    ) -> Any:
        if not isinstance(item, Article) or not results:
            return item
        plan = plan_images(item.body, item.url)
        mapping: dict[str, str] = {}
        for (src, url), (ok, value) in zip(plan.downloads, results, strict=True):
            if ok and isinstance(value, dict) and value.get("path"):
                mapping[src] = site_path(value["path"])
                self.counters.inc("images", "stored")
                continue
            error = getattr(value, "value", value)
            reason = str(error) if isinstance(error, ImageNotArchived) else failure_reason(value)
            self.counters.inc("images", "failed")
            logger.warning(
                "Image %s of article %s not archived (%s): the post keeps its URL", url, item.code, reason
            )
        item.body = rewrite_image_sources(item.body, mapping)
        return item
