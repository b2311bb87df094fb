"""The one item type of the project: an :class:`Article`.

Raw values are kept next to the normalized ones (``title_raw``, ``date_raw``,
``body_raw``) so that a dropped or surprising item can be explained from the
item alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from newscrawler.dedup.fingerprint import Fingerprint

#: Post kinds: an outlet post (category = the outlet's slug) or a rolling-news post.
KIND_OUTLET = "outlet"
KIND_EMNEWS = "emnews"


@dataclass
class Article:
    """One news article on its way from a source to a Jekyll post."""

    #: The 18-digit article code (``YYYYMMDD`` + 10 digits); the dedup key.
    code: str = ""
    #: ``outlet`` or ``emnews``.
    kind: str = KIND_OUTLET
    title: str = ""
    title_raw: str = ""
    #: Publication time, timezone-aware (Beijing time once validated).
    date: datetime | None = None
    date_raw: str = ""
    #: The publishing outlet (the post's category), e.g. 深圳新闻网.
    outlet: str = ""
    #: The category slug, e.g. ``shenzhenxinwenwang`` (set by the pipelines).
    slug: str = ""
    #: Body HTML: as fetched in ``body_raw``, sanitized in ``body``.
    body: str = ""
    body_raw: str = ""
    #: ``body`` is already ``clean_body(body_raw, base_url or url)`` (the spider cleaned it
    #: to tell a blank body): the clean step keeps it instead of cleaning twice.
    body_cleaned: bool = False
    #: Rolling news: the digest, and the column page (``url_w``) used as source line.
    digest: str = ""
    source_url: str = ""
    #: Where the text came from, and the feed or page that led to it.
    url: str = ""
    #: The page relative links in the body are resolved against (the article page).
    base_url: str = ""
    referer: str = ""
    #: Names of the sources that contributed (``feed``, ``text_api``, ``article_page``, ``finews``).
    sources: list[str] = field(default_factory=list)
    #: The cleaned body's content fingerprint (set by the dedup step, recorded with the post).
    fingerprint: Fingerprint | None = None

    @property
    def info_code(self) -> str:
        return f"NW{self.code}" if self.code else ""
