"""The CDXJ index (:mod:`newscrawler.warc.cdxj`): SURT keys as pywb sorts them."""

from __future__ import annotations

from newscrawler.warc.cdxj import surt_key


def test_surt_key() -> None:
    assert surt_key("http://finance.eastmoney.com/a/202203282325203083.html") == (
        "com,eastmoney,finance)/a/202203282325203083.html"
    )
    assert surt_key("https://www.Example.com:443/P?b=2&a=1") == "com,example)/p?a=1&b=2"
    assert surt_key("http://127.0.0.1:8765/x") == "127.0.0.1:8765)/x"
    assert surt_key("http://example.com") == "com,example)/"
