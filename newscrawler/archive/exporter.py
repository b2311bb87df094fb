"""The Jekyll post exporter: one Article -> one post file (docs/contract.md "The post format"), plus its category page.

A Scrapy :class:`BaseItemExporter`, driven one post per file by
:class:`newscrawler.pipelines.write.WritePostPipeline`. Rendering is :mod:`newscrawler.archive.post`;
this class only decides paths and writes atomically inside the archive root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exporters import BaseItemExporter

from newscrawler.archive.fsutil import atomic_write, confined
from newscrawler.archive.layout import POSTS_DIR
from newscrawler.archive.post import PostTarget, render_category_page, render_post, share_url, target_for
from newscrawler.items import KIND_EMNEWS, Article


@dataclass(frozen=True)
class ExportResult:
    path: Path
    relative: str
    written: bool
    category_page: str | None
    category_written: bool


class JekyllPostExporter(BaseItemExporter):
    """Writes each exported item as ``<archive>/_posts/YYYY-MM-DD-<id>.md``."""

    def __init__(
        self,
        archive_dir: Path,
        *,
        site: str,
        share_url_template: str,
        durable: bool = True,
        journal: Callable[[str, str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(dont_fail=True, **kwargs)
        #: fsync each post; False when the caller syncs batches (``fsutil.sync_filesystem``).
        self.durable = durable
        #: Told ``(relative path, temp file name)`` before each file is written (the write
        #: journal, :mod:`newscrawler.archive.journal`).
        self.journal = journal
        self.archive_dir = Path(archive_dir)
        self.site = site.rstrip("/")
        self.share_url_template = share_url_template
        #: Category page (relative) -> its path, made once (the page itself is looked for each time).
        self._category_paths: dict[str, Path] = {}

    def _render(self, item: Any) -> tuple[str, str, PostTarget, str]:
        # An Article's fields as they are (the exporter's own item: no adapter), any other item through ItemAdapter.
        adapter = item.__dict__ if isinstance(item, Article) else ItemAdapter(item)
        kind = adapter["kind"]
        target = target_for(
            code=adapter["code"],
            kind=kind,
            date=adapter["date"],
            outlet=adapter.get("outlet") or "",
            slug=adapter.get("slug") or "",
            site=self.site,
        )
        source = (
            adapter.get("source_url")
            if kind == KIND_EMNEWS
            else share_url(self.share_url_template, adapter["code"])
        )
        text = render_post(
            target=target,
            title=adapter["title"],
            date=adapter["date"],
            body=adapter.get("body") or "",
            source_url=source or "",
            site=self.site,
            digest=adapter.get("digest") or "",
        )
        return f"{POSTS_DIR}/{target.filename}", text, target, adapter.get("outlet") or ""

    def _noting(self, relative: str) -> Callable[[str], None] | None:
        journal = self.journal
        if journal is None:
            return None
        return lambda temp: journal(relative, temp)

    def export_item(self, item: Any) -> None:
        self.write_post(item)

    def write_post(self, item: Any) -> ExportResult:
        """Write *item*'s post (and its category page if missing); say what changed."""
        relative, text, target, outlet = self._render(item)
        path = confined(self.archive_dir, relative)
        category_page = target.category_page
        category_written = False
        if category_page:
            category_path = self._category_paths.get(category_page)
            if category_path is None:
                category_path = self._category_paths[category_page] = confined(self.archive_dir, category_page)
            # An existing category page (perhaps hand-edited, as on the real site) is kept;
            # its text is only rendered when it is missing.
            if not category_path.exists():
                category_text = render_category_page(outlet, target.category)
                category_written = atomic_write(
                    category_path,
                    category_text.encode("utf-8"),
                    durable=self.durable,
                    before_write=self._noting(category_page),
                )
        written = atomic_write(path, text.encode("utf-8"), durable=self.durable, before_write=self._noting(relative))
        return ExportResult(path, relative, written, category_page, category_written)
