"""The run's loggers at LOG_LEVEL: a message below it is not even made into a record."""

from __future__ import annotations

import logging

import pytest

from newscrawler.logformatter import RUN_LOGGERS, loggers_at


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("name", ["newscrawler.pipelines.write", "scrapy.core.scraper"])
def test_below_the_level_no_record_is_made_and_the_levels_come_back(name: str) -> None:
    logger = logging.getLogger(name)
    handler = Collect()
    logging.root.addHandler(handler)
    before = [logging.getLogger(n).level for n in RUN_LOGGERS]
    try:
        with loggers_at("WARNING"):
            logger.info("below")
            logger.warning("at")
            assert not logger.isEnabledFor(logging.INFO)
        assert [r.getMessage() for r in handler.records] == ["at"]
        assert [logging.getLogger(n).level for n in RUN_LOGGERS] == before
        with loggers_at(logging.DEBUG):
            logger.debug("debug")
        assert [r.getMessage() for r in handler.records] == ["at", "debug"]
    finally:
        logging.root.removeHandler(handler)


def test_levels_come_back_after_an_error() -> None:
    before = logging.getLogger("newscrawler").level
    with pytest.raises(RuntimeError), loggers_at("ERROR"):
        assert logging.getLogger("newscrawler").level == logging.ERROR
        raise RuntimeError
    assert logging.getLogger("newscrawler").level == before
