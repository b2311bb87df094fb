"""``RedirectAwareDupeFilter``: Scrapy's dupefilter, except that a redirect is never a duplicate."""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import Response
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from newscrawler.dupefilter import RedirectAwareDupeFilter

from .conftest import project_settings

NOT_FOUND = "http://127.0.0.1:9/notfound.html"


def _dupefilter() -> tuple[RedirectAwareDupeFilter, RedirectMiddleware]:
    crawler = get_crawler(settings_dict=project_settings())
    dupefilter_class = load_object(crawler.settings["DUPEFILTER_CLASS"])
    assert dupefilter_class is RedirectAwareDupeFilter  # the project's setting
    dupefilter = dupefilter_class.from_crawler(crawler)
    return dupefilter, RedirectMiddleware.from_crawler(crawler)


def _redirected(middleware: RedirectMiddleware, url: str, location: str) -> Request:
    request = Request(url)
    response = Response(url, status=302, headers={"Location": location}, request=request)
    redirected = middleware.process_response(request, response)
    assert isinstance(redirected, Request) and redirected.url == location
    return redirected


def test_ordinary_requests_are_filtered_as_scrapy_filters_them() -> None:
    dupefilter, _ = _dupefilter()
    assert not dupefilter.request_seen(Request("http://127.0.0.1:9/a/1.html"))
    assert dupefilter.request_seen(Request("http://127.0.0.1:9/a/1.html"))
    assert dupefilter.request_seen(Request("http://127.0.0.1:9/a/1.html#fragment"))  # same fingerprint
    assert not dupefilter.request_seen(Request("http://127.0.0.1:9/a/2.html"))


def test_two_articles_redirected_to_one_page_are_both_followed() -> None:
    dupefilter, middleware = _dupefilter()
    first = _redirected(middleware, "http://127.0.0.1:9/a/1.html", NOT_FOUND)
    second = _redirected(middleware, "http://127.0.0.1:9/a/2.html", NOT_FOUND)
    assert not dupefilter.request_seen(first)
    assert not dupefilter.request_seen(second)  # Scrapy's own would drop it, silently
    assert not dupefilter.request_seen(first)


def test_a_redirect_to_a_page_already_fetched_is_followed() -> None:
    dupefilter, middleware = _dupefilter()
    assert not dupefilter.request_seen(Request(NOT_FOUND))
    assert not dupefilter.request_seen(_redirected(middleware, "http://127.0.0.1:9/a/1.html", NOT_FOUND))
    # A redirect is not recorded either: the plain request was, and still is, seen once.
    assert dupefilter.request_seen(Request(NOT_FOUND))


def test_a_redirect_target_requested_later_without_a_redirect_is_new() -> None:
    dupefilter, middleware = _dupefilter()
    assert not dupefilter.request_seen(_redirected(middleware, "http://127.0.0.1:9/a/1.html", NOT_FOUND))
    assert not dupefilter.request_seen(Request(NOT_FOUND))
    assert dupefilter.request_seen(Request(NOT_FOUND))
