"""The text sources of an article, in the order they are asked, and the per-run circuit
breaker that switches off a source whose host is gone (pure: no Scrapy)."""

from __future__ import annotations

from dataclasses import dataclass

from newscrawler.ids import info_code

#: Text source names, in the order they are asked (counter parts: ``text/from_<name>``,
#: ``errors/<name>_<reason>``, ``fallback/<name>_no_text``, ``text/<name>_disabled``).
TEXT_API = "text_api"
ARTICLE_API = "article_api"
ARTICLE_PAGE = "article_page"
#: How the log names each source.
SOURCE_LABELS = {TEXT_API: "Text API", ARTICLE_API: "Article API", ARTICLE_PAGE: "Article page"}

#: Failures that say the host is not there (as opposed to an answer, even an HTTP error).
CONNECTION_FAILURES = frozenset({"connection_refused", "dns", "timeout", "no_response"})
#: Articles in a row a source may fail for at the connection level before it is switched off.
BREAKER_THRESHOLD = 5


class SourceBreaker:
    """Per-run circuit breaker of the text sources: a source whose requests failed at the
    connection level for ``threshold`` articles in a row is disabled for the rest of the
    run; any answer from it (even an HTTP error) resets its count. Attempts are counted
    as they fail, before Scrapy retries them (:class:`newscrawler.middlewares.TextSourceBreakerMiddleware`),
    so a dead host costs about ``threshold`` articles' attempts, not every article's."""

    def __init__(self, threshold: int = BREAKER_THRESHOLD) -> None:
        self.threshold = threshold
        #: source -> the articles whose last attempt failed, in a row
        self._failing: dict[str, set[str]] = {}
        self.disabled: set[str] = set()

    def answered(self, source: str) -> None:
        self._failing.pop(source, None)

    def failed(self, source: str, code: str) -> bool:
        """Count a connection-level failure for article *code*; True when this one
        switches the source off."""
        if source in self.disabled:
            return False
        failing = self._failing.setdefault(source, set())
        failing.add(code)
        if len(failing) >= self.threshold:
            self.disabled.add(source)
            return True
        return False

    def is_disabled(self, source: str) -> bool:
        return source in self.disabled


@dataclass(frozen=True)
class TextSource:
    """One text source: its name and URL template (``{code}`` and ``{info_code}``)."""

    name: str
    url_template: str

    def url(self, code: str) -> str:
        return self.url_template.format(code=code, info_code=info_code(code))
