"""Images of post bodies (:mod:`newscrawler.archive.images`, pure): found, planned,
typed by their bytes, named by their content, and the body rewritten."""

from __future__ import annotations

import hashlib

import pytest

from newscrawler.archive.images import (
    asset_name,
    image_extension,
    image_sources,
    is_dynamic_chart,
    plan_images,
    rewrite_image_sources,
)
from tests.conftest import FIXTURES

ARCHIVAL = FIXTURES / "archival"


def test_image_sources_and_rewrite_touch_only_img_src() -> None:
    body = (
        '<p>a<img src="https://x.com/a.png?a=1&amp;b=2" alt="a &quot;q&quot; >b" width="10"></p>\n'
        '<p>&lt;img src="https://x.com/text.png"&gt; <a href="https://x.com/a.png?a=1&amp;b=2">l</a></p>\n'
        '<p><img src="//y.com/GetPic.aspx?nid=1&amp;t=k"><img src="https://x.com/a.png?a=1&amp;b=2"></p>'
    )
    assert image_sources(body) == ["https://x.com/a.png?a=1&b=2", "//y.com/GetPic.aspx?nid=1&t=k"]
    out = rewrite_image_sources(body, {"https://x.com/a.png?a=1&b=2": "/assets/images/ab.png"})
    assert out == body.replace(
        '<img src="https://x.com/a.png?a=1&amp;b=2"', '<img src="/assets/images/ab.png"'
    )
    assert 'href="https://x.com/a.png?a=1&amp;b=2"' in out
    plan = plan_images(body, "http://base.com/x")
    assert plan.downloads == [("https://x.com/a.png?a=1&b=2", "https://x.com/a.png?a=1&b=2")]
    assert plan.dynamic == ["//y.com/GetPic.aspx?nid=1&t=k"]
    assert is_dynamic_chart("https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid=1.600031")
    assert not is_dynamic_chart("https://x.com/getpic.aspx.png")


def test_image_extension_and_name() -> None:
    png = (ARCHIVAL / "images" / "chart-a.png").read_bytes()
    assert image_extension(png) == "png"
    assert image_extension((ARCHIVAL / "images" / "photo-b.gif").read_bytes()) == "gif"
    assert image_extension((ARCHIVAL / "images" / "photo-c.jpg").read_bytes()) == "jpg"
    assert image_extension(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_extension(b"<html>blocked</html>", "image/png", "http://x/a.png") is None
    assert (
        image_extension(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml") is None
    )
    assert image_extension(b"\x00\x01heic?", "image/webp") == "webp"
    assert image_extension(b"\x00\x01????", "", "http://x/a.JPEG?s=1") == "jpg"
    assert image_extension(b"\x00\x01????", "application/octet-stream", "http://x/a") is None
    assert asset_name(png, "png") == hashlib.sha1(png, usedforsecurity=False).hexdigest() + ".png"
    with pytest.raises(ValueError):
        asset_name(png, "svg")
