"""The article page (``EASTMONEY_ARTICLE_URL``, the last resort): the 2025-2026 layout
(``div.title``, ``div.infos`` items, ``div.txtinfos#ContentBody``) and the older one
(``.newsContent h1``, ``.Info``, ``#ContentBody.Body`` up to ``#comBodyEnd``)."""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html
from parsel import Selector

from newscrawler.sources.eastmoney.common import ArticleText, SourceError

_SOURCE_RE = re.compile(r"来源\s*[:：]\s*(\S+?)(?=\s|$|作者|编辑|责任编辑|[|｜])")
_PAGE_DATE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*\d{1,2}:\d{2}(?::\d{2})?|\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}(?::\d{2})?"
)


class PageLayout:
    """The selectors of one article-page layout (class constants, as fundus keeps its
    publishers' versions). :class:`ArticlePageParser` asks the layout a page matches first
    and the others after it, so a page that mixes layouts still gives every field."""

    #: A selector only pages of this layout match.
    MARKER = ""
    #: Most specific first: pages carry other ``.title`` blocks (sidebars, related news).
    TITLE: tuple[str, ...] = ()
    #: Where the date and the outlet (``来源：X``) are written.
    INFO_TEXT: tuple[str, ...] = ()
    SUMMARY: tuple[str, ...] = ()

    @classmethod
    def matches(cls, sel: Selector) -> bool:
        return bool(cls.MARKER) and bool(sel.css(cls.MARKER))


class ClassicLayout(PageLayout):
    """Until about 2023: ``.newsContent h1``, ``.Info .time``/``.source``, the summary in
    ``.b-review``, the body ``div#ContentBody.Body`` up to ``div#comBodyEnd``."""

    MARKER = ".newsContent, #ContentBody.Body, .Info .time-source"
    TITLE = (".newsContent h1 ::text", ".detail-title h1 ::text")
    INFO_TEXT = (".Info .time", ".time", ".source", ".Info")
    SUMMARY = (".b-review::text",)


class CurrentLayout(PageLayout):
    """2025-2026: ``div.title``, ``div.infos`` items (``<div class=" item">2026年08月19日
    17:46</div><div class="item">界面新闻</div>``: the outlet may be a bare item), the summary
    in ``div.abstract .txt``, the body ``div.txtinfos#ContentBody``."""

    MARKER = ".infos .item, div.txtinfos#ContentBody"
    TITLE = (".contentbox div.title ::text", ".mainleft div.title ::text", "div.title ::text")
    INFO_TEXT = (".infos .item", ".infos")
    SUMMARY = ("div.abstract .txt::text",)


class AnyLayout(PageLayout):
    """Every layout's selectors, for pages that match no layout and for the fields a
    page's own layout does not give."""

    TITLE = (*ClassicLayout.TITLE, *CurrentLayout.TITLE, "h1 ::text")
    INFO_TEXT = (".infos .item", ".Info .time", ".time", ".source", ".infos", ".Info")
    SUMMARY = (*ClassicLayout.SUMMARY, *CurrentLayout.SUMMARY)


class ArticlePageParser:
    """``EASTMONEY_ARTICLE_URL`` pages: the selectors of the layout the page matches first,
    then :class:`AnyLayout`'s."""

    #: The layouts a page can match, the more specific title first.
    LAYOUTS: tuple[type[PageLayout], ...] = (ClassicLayout, CurrentLayout)
    DOCUMENT_TITLE = "head title::text"
    #: Suffixes eastmoney appends to ``<title>``: ``标题_东方财富网``, ``标题_财经频道_东方财富网``.
    DOCUMENT_TITLE_SUFFIX = "_"
    BODY_ID = "ContentBody"
    BODY_END_ID = "comBodyEnd"
    META_TITLE = "meta[property='og:title']::attr(content)"

    def _layouts(self, sel: Selector) -> list[type[PageLayout]]:
        """The layouts to ask: those *sel* matches (classic first when a page matches both:
        its title is the more specific), then every layout's selectors."""
        matching = [layout for layout in self.LAYOUTS if layout.matches(sel)]
        return [*matching, AnyLayout]

    @staticmethod
    def _selectors(layouts: list[type[PageLayout]], name: str) -> list[str]:
        return list(dict.fromkeys(css for layout in layouts for css in getattr(layout, name)))

    def parse(self, url: str, page: str) -> ArticleText:
        if not page.strip():
            raise SourceError("empty", "empty page")
        sel = Selector(text=page, type="html")  # never "json": a JSON answer is no page
        layouts = self._layouts(sel)
        result = ArticleText()
        for css in self._selectors(layouts, "TITLE"):
            title = " ".join(t.strip() for t in sel.css(css).getall() if t.strip())
            if title:
                result.title = title
                break
        result.title = result.title or (sel.css(self.META_TITLE).get() or "").strip()
        if not result.title:
            document_title = (sel.css(self.DOCUMENT_TITLE).get() or "").strip()
            result.title = document_title.split(self.DOCUMENT_TITLE_SUFFIX, 1)[0].strip()
        info_texts: list[str] = []
        for css in self._selectors(layouts, "INFO_TEXT"):
            info_texts.extend(" ".join(node.css("::text").getall()) for node in sel.css(css))
        for text in info_texts:
            if not result.date_raw:
                match = _PAGE_DATE_RE.search(text)
                result.date_raw = match.group().strip() if match else ""
            if not result.outlet:
                match = _SOURCE_RE.search(" ".join(text.split()))
                result.outlet = match.group(1).strip() if match else ""
        if not result.outlet:
            result.outlet = self._bare_outlet(sel)
        for css in self._selectors(layouts, "SUMMARY"):
            summary = " ".join(t.strip() for t in sel.css(css).getall() if t.strip())
            if summary:
                result.summary = summary
                break
        result.body = self._body(page)
        if not result.body:
            # An error page ("页面不存在", served with status 200) has a title but no article.
            raise SourceError("no_article", "no article body (#ContentBody) in the page")
        return result

    #: 2025-2026 layout: ``<div class=" item">2026年08月19日 17:46</div><div class="item">界面新闻</div>``,
    #: the outlet is an item of its own, with no ``来源：``.
    INFO_ITEMS = ".infos .item"
    #: Items that are not the outlet: labelled (作者：, 编辑：...) or counters (12人评论).
    NOT_OUTLET_RE = re.compile(r"[:：]|评论|阅读|点击|收藏|分享|字号|举报|^\d+$")
    MAX_OUTLET_CHARS = 30

    def _bare_outlet(self, sel: Selector) -> str:
        """The first ``.infos`` item after the date item that is a bare name."""
        after_date = False
        for node in sel.css(self.INFO_ITEMS):
            text = " ".join(" ".join(node.css("::text").getall()).split())
            if _PAGE_DATE_RE.search(text):
                after_date = True
                continue
            if (
                after_date
                and text
                and len(text) <= self.MAX_OUTLET_CHARS
                and not self.NOT_OUTLET_RE.search(text)
            ):
                return text
        return ""

    def _body(self, page: str) -> str:
        try:
            root = lxml_html.document_fromstring(page)
        except (etree.ParserError, ValueError):
            return ""
        container = root.find(f".//*[@id='{self.BODY_ID}']")
        if container is None:
            return ""
        parts = [container.text or ""]
        for child in container.iterchildren():
            if child.get("id") == self.BODY_END_ID:
                break
            parts.append(etree.tostring(child, encoding="unicode", method="html", with_tail=True))
        return "".join(parts).strip()
