"""The distributed mode as a Scrapy add-on (``ADDONS``): with ``REDIS_URL``, a worker gets
the shared scheduler and hands its articles to the writer instead of writing them.

Without ``REDIS_URL`` it changes nothing (and nothing imports Redis). The writer
(``scrapy crawl writer``) sets its own pipelines (:mod:`newscrawler.spiders.writer`).
"""

from __future__ import annotations

from scrapy.settings import Settings

from newscrawler.archive.config import ROLE_WRITER

#: The worker's scheduler.
SCHEDULER = "newscrawler.distributed.scheduler.SharedScheduler"
#: The pipelines of the archive, which only the writer runs.
ARCHIVE_PIPELINES = (
    "newscrawler.pipelines.dedup.DedupPipeline",
    "newscrawler.pipelines.images.ImageArchivePipeline",
    "newscrawler.pipelines.write.WritePostPipeline",
)
#: What a worker runs instead, where deduplication was.
HANDOFF_PIPELINE = "newscrawler.distributed.pipeline.HandOffPipeline"
HANDOFF_ORDER = 300


class DistributedMode:
    def update_settings(self, settings: Settings) -> None:
        if (
            not str(settings.get("REDIS_URL") or "").strip()
            or settings.get("NEWSCRAWLER_ROLE") == ROLE_WRITER
        ):
            return
        settings.set("SCHEDULER", SCHEDULER, priority="addon")
        # Each key of a component dict keeps the priority it was set with (the project's,
        # above an add-on's): changed in place, at the project's.
        pipelines = settings["ITEM_PIPELINES"]
        for name in ARCHIVE_PIPELINES:
            pipelines[name] = None
        pipelines[HANDOFF_PIPELINE] = HANDOFF_ORDER
