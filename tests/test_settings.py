"""Project settings that turn off one of Scrapy's checks keep that check in the tests."""

from __future__ import annotations

import inspect

import pytest
from scrapy.utils.misc import is_generator_with_return_value

from newscrawler import settings
from newscrawler.spiders.eastmoney import EastmoneySpider
from newscrawler.spiders.finews import FinewsSpider

CALLBACKS = [
    (spider, name)
    for spider in (EastmoneySpider, FinewsSpider)
    for name, member in inspect.getmembers(spider, inspect.isfunction)
    if inspect.isgeneratorfunction(member)  # callbacks and errbacks alike: Scrapy checks both
]


def test_every_spider_has_generator_callbacks_to_check() -> None:
    names = {name for _, name in CALLBACKS}
    callbacks = {"parse_feed", "parse_source", "parse_listing", "parse_post"}
    errbacks = {"feed_failed", "source_failed"}
    assert callbacks | errbacks <= names


@pytest.mark.parametrize(("spider", "name"), CALLBACKS, ids=[f"{s.__name__}.{n}" for s, n in CALLBACKS])
def test_callbacks_never_return_a_value_from_a_generator(spider: type, name: str) -> None:
    # What WARN_ON_GENERATOR_RETURN_VALUE would check at run time, on every response.
    assert settings.WARN_ON_GENERATOR_RETURN_VALUE is False
    assert not is_generator_with_return_value(getattr(spider, name))


def test_the_check_finds_a_generator_that_returns_a_value() -> None:
    def callback(response: object):  # type: ignore[no-untyped-def]
        yield response
        return 1

    assert is_generator_with_return_value(callback)
