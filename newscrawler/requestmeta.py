"""Request meta keys the spiders set and the downloader middlewares read."""

from __future__ import annotations

#: Request meta key naming the article a request is for (used by the skip-known middleware).
ARTICLE_CODE_META = "newscrawler_article_code"
#: Request meta key set on requests for articles the user asked for by ``-a codes``.
EXPLICIT_META = "newscrawler_explicit"
#: Request meta key naming the text source a request asks (see :class:`SourceBreaker`).
TEXT_SOURCE_META = "newscrawler_text_source"
#: Request meta key set on a request for an article made while handling a response for the
#: same article (the next text source, the original of an archived post): the distributed
#: mode lets the worker that has the article queue it (:mod:`newscrawler.distributed.shared`).
FOLLOW_UP_META = "newscrawler_follow_up"
