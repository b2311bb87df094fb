"""Parsers for a rendered finews-style archive site (docs/contract.md "Sources").

The site is Jekyll with the jekyll-theme-minimal layout: every page is
``<div class="wrapper"><header>...</header><section>...</section><footer>...``
and everything of interest is inside the ``<section>``.

- the index ``/`` and the listings (``/category/<slug>.html``, ``/emnews/`` and
  their pagination pages) hold ``<ul>`` lists of post links:
  :class:`FinewsIndexParser`;
- a post page ``/<category>/YYYY/MM/DD/<id>.html`` holds, inside the section,
  ``<small>(GMT+8, Asia/Shanghai, CST) <date></small>``, the ``<h1>`` title, the
  body (emnews: a leading ``<blockquote>`` digest), the source-link paragraph
  (the Markdown autolink of the share or column URL), the back-links
  paragraph(s) and ``<small>tags: <em>...</em></small>``: :class:`FinewsPostParser`.

No Scrapy here: both parsers take the page URL and its decoded HTML, never raise
on bad input, and give empty values for what a page lacks. Values are raw;
validation and cleaning happen in the pipelines.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urljoin, urlsplit

from parsel import Selector, SelectorList

from newscrawler.ids import extract_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article

SOURCE_NAME = "finews"

#: Category path segment and tag of rolling-news posts.
EMNEWS_TAG = "东财滚动新闻"

# Regexes below only ever run on extracted text (URLs, paths, tag text), never on markup.
#: A post page path: ``[/<base>]/<category>/YYYY/MM/DD/<id>.html``.
_POST_PATH_RE = re.compile(r"^(?P<base>.*?)/(?P<slug>[^/]+)/(\d{4})/(\d{2})/(\d{2})/(?P<id>[^/]+)\.html$")
#: Listing paths on the crawled site (root-relative).
_LISTING_PATH_RES = (
    re.compile(r"^/category/[^/]+\.html$"),
    re.compile(r"^/category/[^/]+/page\d+\.html$"),
    re.compile(r"^(?:/[A-Za-z_-]+)?/emnews/(?:index\.html)?$"),
    re.compile(r"^(?:/[^/]+)*/page\d+(?:/(?:index\.html)?|\.html)$"),
)
#: What a back link points to, whatever host or relative form it is written with.
_BACK_CATEGORY_RE = re.compile(r"(?:^|/)category/(?P<name>[^/]+\.html)$")
_BACK_EMNEWS_RE = re.compile(r"(?:^|/)emnews/?(?:index\.html)?$")
#: The date line: ``(GMT+8, Asia/Shanghai, CST) 2022-03-28 17:04:37``.
_DATE_PREFIX_RE = re.compile(r"^\s*\([^)]*\)\s*")
_TAGS_PREFIX_RE = re.compile(r"^\s*tags\s*:", re.IGNORECASE)
_SHARE_RE = re.compile(r"NewsShare\.html\?(?:[^#]*&)?infoCode=", re.IGNORECASE)
_OUTLET_SUFFIX = "新闻"
_BACK_TEXT_PREFIX = "返回"
#: Link texts of pagination links (run on the link's text).
_PAGINATION_LABEL_RE = re.compile(r"下一页|上一页|\b(?:older|newer|next|prev(?:ious)?)\b", re.IGNORECASE)


def _selector(html: object) -> Selector:
    """A Selector on *html*; an empty document for anything unparsable."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if not isinstance(html, str):
        html = ""
    # Lone surrogates (from a bad decode upstream) cannot be encoded for lxml.
    html = html.encode("utf-8", "replace").decode("utf-8")
    try:
        return Selector(text=html or "<html></html>", type="html")
    except (ValueError, TypeError, LookupError):
        return Selector(text="<html></html>", type="html")


def _join(base: str, href: str) -> str:
    """*href* made absolute against *base*; "" when either is junk."""
    href = (href or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "data:")):
        return ""
    try:
        url = urljoin(base if isinstance(base, str) else "", href)
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return url.split("#", 1)[0]


def _same_site(url: str, base: str) -> bool:
    try:
        return urlsplit(url).netloc.lower() == urlsplit(base).netloc.lower() != ""
    except ValueError:
        return False


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _text(sel: Selector | SelectorList[Selector]) -> str:
    """All text under *sel*, as is (entities decoded, whitespace kept)."""
    return "".join(sel.xpath(".//text()").getall())


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _unique(urls: list[str]) -> list[str]:
    return list(dict.fromkeys(u for u in urls if u))


def _site_root(url: str) -> str:
    """The root URL of the site a post page belongs to (origin + any base path)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    match = _POST_PATH_RE.match(parts.path)
    base = match.group("base") if match else ""
    return f"{parts.scheme}://{parts.netloc}{base}/"


class FinewsIndexParser:
    """Links on the index page and on the listing pages of a finews-style site."""

    #: The links of the page content (the theme's header and footer are left out).
    LINKS = "section a[href]"
    #: Fallback for a page without a ``<section>``.
    ALL_LINKS = "a[href]"
    #: Pagination links as Jekyll paginators render them.
    PAGINATION = "a[rel~=next], a[rel~=prev], a.next, a.previous, a.prev, .pagination a[href], .pager a[href]"

    def _links(self, sel: Selector) -> SelectorList[Selector]:
        links = sel.css(self.LINKS)
        return links if links else sel.css(self.ALL_LINKS)

    def post_links(self, url: str, html: str) -> list[str]:
        """Absolute URLs of the post pages (``/<category>/YYYY/MM/DD/<id>.html``) on this site."""
        sel = _selector(html)
        found: list[str] = []
        for href in self._links(sel).xpath("@href").getall():
            link = _join(url, href)
            if link and _same_site(link, url) and _POST_PATH_RE.match(_path(link)):
                found.append(link)
        return _unique(found)

    def listing_links(self, url: str, html: str) -> list[str]:
        """Absolute URLs of the listing pages linked from this page, on this site.

        Category pages (``/category/<slug>.html``), the rolling-news pages
        (``/emnews/``, ``/achieves/emnews/``) and pagination pages (``a.next``,
        ``rel=next``, ``下一页``/``Older`` links, ``/category/<slug>/pageN.html``,
        ``/pageN/``). Post back links (protocol-relative to the production host)
        are :meth:`FinewsPostParser.back_links`' business.
        """
        sel = _selector(html)
        found: list[str] = []
        paging = set(sel.css(self.PAGINATION).xpath("@href").getall())
        for anchor in self._links(sel):
            href = anchor.xpath("@href").get() or ""
            link = _join(url, href)
            if not link or not _same_site(link, url) or link == url.split("#", 1)[0]:
                continue
            path = _path(link)
            if _POST_PATH_RE.match(path):
                continue
            label = _collapse(_text(anchor))
            if (
                any(rx.match(path) for rx in _LISTING_PATH_RES)
                or href in paging
                or _PAGINATION_LABEL_RE.search(label)
            ):
                found.append(link)
        return _unique(found)


class FinewsPostParser:
    """One post page of a finews-style site, as an :class:`Article` with raw fields."""

    #: The page content: the theme puts it in ``div.wrapper > section``.
    SECTIONS = ("div.wrapper > section", "section")
    #: The post title: the section's own ``<h1>`` (the header's h1 is the site name).
    TITLE = "./h1[1]"
    #: What follows the title, up to the tags line.
    AFTER_TITLE = "./h1[1]/following-sibling::node()"
    #: The date line: the ``<small>`` before the title (any non-tags ``<small>`` as a fallback).
    DATE_LINE = "./h1[1]/preceding-sibling::small"
    SMALLS = "./small"
    #: The tags line items: ``<small>tags: <em>a</em> - <em>b</em></small>``.
    TAG_ITEMS = "./em"
    #: Anchors whose href is a share link.
    SHARE_LINKS = "a[href*='NewsShare.html']"

    # --- page structure ---------------------------------------------------------------

    def _section(self, sel: Selector) -> Selector | None:
        """The content section: the first one with a title, else the first one."""
        first: Selector | None = None
        for query in self.SECTIONS:
            for section in sel.css(query):
                if section.xpath(self.TITLE):
                    return section
                first = first or section
        return first

    def _tags_small(self, section: Selector) -> Selector | None:
        for small in reversed(section.xpath(self.SMALLS)):
            if _TAGS_PREFIX_RE.match(_text(small)):
                return small
        return None

    def _date_small(self, section: Selector) -> Selector | None:
        candidates = section.xpath(self.DATE_LINE)[-1:] or section.xpath(self.SMALLS)
        for small in candidates:
            if not _TAGS_PREFIX_RE.match(_text(small)):
                return small
        return None

    def _tags(self, section: Selector) -> list[str]:
        small = self._tags_small(section)
        if small is None:
            return []
        tags = [_text(em) for em in small.xpath(self.TAG_ITEMS)]
        if not tags:  # a tags line without <em>: "tags: a - b"
            tags = _TAGS_PREFIX_RE.sub("", _text(small)).split(" - ")
        return [t for t in (_collapse(t) for t in tags) if t]

    def _content_nodes(self, section: Selector) -> list[Selector]:
        """The nodes after the title up to the (last) tags line, outer whitespace trimmed."""
        nodes = list(section.xpath(self.AFTER_TITLE))
        for index in range(len(nodes) - 1, -1, -1):
            node = nodes[index]
            if self._is_element(node, "small") and _TAGS_PREFIX_RE.match(_text(node)):
                nodes = nodes[:index]
                break
        while nodes and self._is_blank(nodes[0]):
            nodes.pop(0)
        while nodes and self._is_blank(nodes[-1]):
            nodes.pop()
        return nodes

    @staticmethod
    def _tag(node: Selector) -> str:
        """The lower-case tag name of an element node; "" for text, comments and the like."""
        tag = getattr(node.root, "tag", None)
        return tag.lower() if isinstance(tag, str) else ""

    @classmethod
    def _is_element(cls, node: Selector, tag: str | None = None) -> bool:
        name = cls._tag(node)
        return bool(name) and (tag is None or name == tag)

    @staticmethod
    def _is_blank(node: Selector) -> bool:
        """A whitespace-only text node."""
        return isinstance(node.root, str) and not node.root.strip()

    @staticmethod
    def _html(node: Selector) -> str:
        """Markup of one node: elements and comments serialized, text escaped."""
        if isinstance(node.root, str):
            return escape(node.root, quote=False)
        return node.get() or ""

    @classmethod
    def _is_back_links(cls, node: Selector) -> bool:
        """A paragraph made of ``返回...`` links only (``｜`` or line breaks between them)."""
        if not cls._is_element(node, "p"):
            return False
        anchors = node.xpath("./a")
        if not anchors or node.xpath("./*[not(self::a) and not(self::br)]"):
            return False
        if not all(_collapse(_text(a)).startswith(_BACK_TEXT_PREFIX) for a in anchors):
            return False
        loose = "".join(node.xpath("./text()").getall())
        return not loose.replace("｜", "").replace("|", "").strip()

    @classmethod
    def _autolink(cls, node: Selector) -> str:
        """The URL of a source-link paragraph ``<p><a href="U">U</a></p>``, else ""."""
        if not cls._is_element(node, "p"):
            return ""
        anchors = node.xpath("./*")
        if len(anchors) != 1 or not cls._is_element(anchors[0], "a"):
            return ""
        if "".join(node.xpath("./text()").getall()).strip():
            return ""
        href = (anchors[0].xpath("@href").get() or "").strip()
        text = _collapse(_text(anchors[0]))
        if not href or text != href or not href.lower().startswith(("http://", "https://", "//")):
            return ""
        return href

    def _split(self, section: Selector, kind: str) -> tuple[str, list[Selector], str, list[Selector]]:
        """Body nodes cut into (digest, body nodes, source URL, back-link paragraphs)."""
        nodes = self._content_nodes(section)
        back: list[Selector] = []
        while nodes and (self._is_back_links(nodes[-1]) or self._is_blank(nodes[-1])):
            node = nodes.pop()
            if not self._is_blank(node):
                back.insert(0, node)
        source = ""
        if nodes and self._autolink(nodes[-1]):
            source = self._autolink(nodes.pop())
            while nodes and self._is_blank(nodes[-1]):
                nodes.pop()
        digest = ""
        if kind == KIND_EMNEWS and nodes and self._is_element(nodes[0], "blockquote"):
            quote = nodes.pop(0)
            paragraphs = [_collapse(_text(p)) for p in quote.xpath("./p")]
            digest = "\n".join(p for p in paragraphs if p) if paragraphs else _collapse(_text(quote))
            while nodes and self._is_blank(nodes[0]):
                nodes.pop(0)
        return digest, nodes, source, back

    # --- public API -------------------------------------------------------------------

    def parse(self, url: str, html: str) -> Article:
        """The post at *url* as an Article with raw fields (``date`` is left to the pipeline)."""
        url = url if isinstance(url, str) else ""
        article = Article(url=url, sources=[SOURCE_NAME])
        section = self._section(_selector(html))
        match = _POST_PATH_RE.match(_path(url))
        article.slug = match.group("slug") if match else ""
        tags = self._tags(section) if section is not None else []
        if section is not None and not article.slug:
            article.slug = self._slug_from_back_links(section, url)
        is_emnews = article.slug == KIND_EMNEWS or EMNEWS_TAG in tags
        article.kind = KIND_EMNEWS if is_emnews else KIND_OUTLET

        share: str | None = None
        if section is not None:
            titles = section.xpath(self.TITLE)
            if titles:
                article.title_raw = _text(titles[0])
                article.title = _collapse(article.title_raw)
            date_small = self._date_small(section)
            if date_small is not None:
                article.date_raw = _DATE_PREFIX_RE.sub("", _text(date_small)).strip()
            if tags and not is_emnews:
                article.outlet = tags[0].removesuffix(_OUTLET_SUFFIX) or tags[0]
            digest, body, source, _back = self._split(section, article.kind)
            article.digest = digest
            article.body_raw = "".join(self._html(node) for node in body).strip()
            share = self._share_url(section, url)
            article.source_url = (_join(url, source) if source else "") or share or ""

        code = extract_code(share) if share else None
        if not code and match:
            code = extract_code(match.group("id"))
        if not code and article.source_url:
            code = extract_code(article.source_url)
        article.code = code or ""
        return article

    def _slug_from_back_links(self, section: Selector, url: str) -> str:
        for link in self._back_link_urls(section, url):
            path = _path(link)
            category = _BACK_CATEGORY_RE.search(path)
            if category:
                return category.group("name").removesuffix(".html")
            if _BACK_EMNEWS_RE.search(path):
                return KIND_EMNEWS
        return ""

    def back_links(self, url: str, html: str) -> list[str]:
        """The listing pages this post links back to, on the site being crawled.

        Back links are written for the production host (``//finews.withounder.com/...``,
        older posts ``//finews.zning.me/...`` or the broken relative ``../emnews/``);
        each is mapped by what it names (``category/<slug>.html`` or ``emnews/``)
        onto the root of the site *url* belongs to. Home-page links are left out.
        """
        section = self._section(_selector(html))
        if section is None:
            return []
        return self._back_link_urls(section, url if isinstance(url, str) else "")

    def _back_link_urls(self, section: Selector, url: str) -> list[str]:
        root = _site_root(url)
        if not root:
            return []
        found: list[str] = []
        for paragraph in self._content_nodes(section):
            if not self._is_back_links(paragraph):
                continue
            for href in paragraph.xpath("./a/@href").getall():
                try:
                    path = urlsplit(href.strip()).path
                except ValueError:
                    continue
                category = _BACK_CATEGORY_RE.search(path)
                if category:
                    found.append(f"{root}category/{category.group('name')}")
                elif _BACK_EMNEWS_RE.search(path):
                    found.append(f"{root}{KIND_EMNEWS}/")
        return _unique(found)

    def share_url(self, url: str, html: str) -> str | None:
        """The share link (``NewsShare.html?infoCode=NW...``) of the post, if it has one."""
        section = self._section(_selector(html))
        if section is None:
            return None
        return self._share_url(section, url if isinstance(url, str) else "")

    def _share_url(self, section: Selector, url: str) -> str | None:
        """The source line when it is a share link, else the first share link of the section."""
        _digest, _body, source, _back = self._split(section, KIND_OUTLET)
        for href in [source, *section.css(self.SHARE_LINKS).xpath("@href").getall()]:
            link = _join(url, href)
            if link and _SHARE_RE.search(link):
                return link
        return None


def listing_for_post(url: str) -> str | None:
    """The listing page a post URL implies on a finews-style site:
    ``<base>/<category>/YYYY/MM/DD/<id>.html`` -> ``<base>/category/<category>.html``, and
    ``<base>/emnews/...`` -> ``<base>/emnews/``; None for anything else."""
    match = _POST_PATH_RE.match(_path(url))
    root = _site_root(url)
    if not match or not root:
        return None
    slug = match.group("slug")
    return root + (f"{KIND_EMNEWS}/" if slug == KIND_EMNEWS else f"category/{slug}.html")
