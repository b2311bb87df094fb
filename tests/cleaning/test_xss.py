"""XSS corpus for :func:`newscrawler.cleaning.body.clean_body`: nothing executable survives.

Every vector is cleaned (with and without a base URL) and the result is walked with a
real parser: only allowed tags, only allowed attributes, no ``on*`` handler, every
``href``/``src`` is http, https or protocol-relative, no comment, no Liquid markup; and
cleaning the result again changes nothing.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from newscrawler.cleaning.body import clean_body
from tests.conftest import examples

BASE = "http://finance.eastmoney.com/a/202203282325203083.html"

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "p": {"class"},
    "br": set(),
    "strong": set(),
    "b": set(),
    "em": set(),
    "i": set(),
    "u": set(),
    "ul": set(),
    "ol": set(),
    "li": set(),
    "blockquote": set(),
    "table": set(),
    "thead": set(),
    "tbody": set(),
    "tr": set(),
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "h1": set(),
    "h2": set(),
    "h3": set(),
    "h4": set(),
    "h5": set(),
    "h6": set(),
    "img": {"src", "alt", "width", "height"},
    "a": {"href"},
    "center": set(),
}
SAFE_URL = re.compile(r"(https?:)?//[^\s]")

# fmt: off
VECTORS: list[str] = [
    # script and style elements, in every spelling
    "<script>alert(1)</script>text",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<script/xss src=http://xss.example/x.js></script>",
    "<<script>alert(1);//<</script>",
    "<style>body{background:url('javascript:alert(1)')}</style><p>x</p>",
    "<p style=\"width: expression(alert(1))\">expression</p>",
    "<div style=\"background-image: url(javascript:alert(1))\">bg</div>",
    # event handlers in every case form
    "<img src=\"http://i.example/x.png\" onerror=\"alert(1)\">",
    "<img src=x ONERROR=alert(1)>",
    "<IMG SRC=\"http://i.example/x.png\" OnLoAd=\"alert(1)\">",
    "<body onload=alert(1)>body</body>",
    "<p onclick=\"alert(1)\" onmouseover='alert(2)'>click</p>",
    "<b/onmouseover=alert(1)>slash separated</b>",
    "<a href=\"http://ok.example/\" onfocus=alert(1) autofocus>focus</a>",
    "<details open ontoggle=alert(1)>toggle</details>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=\"alert(1)\"></video>",
    # javascript: URLs with entities, whitespace, case
    "<a href=\"javascript:alert(1)\">js</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">mixed case</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">decimal</a>",
    "<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)\">hex</a>",
    "<a href=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112"
    "&#0000116&#0000058alert(1)\">padded</a>",
    "<a href=\"jav\tascript:alert(1)\">tab</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">tab entity</a>",
    "<a href=\"jav&#x0A;ascript:alert(1)\">newline entity</a>",
    "<a href=\"java\nscript:alert(1)\">newline</a>",
    "<a href=\" \x01javascript:alert(1)\">leading controls</a>",
    "<a href=\"javascript&colon;alert(1)\">colon entity</a>",
    "<a href=javascript:alert(1)>unquoted</a>",
    "<img src=\"javascript:alert(1)\">",
    "<img src=`javascript:alert(1)`>",
    "<a href=\"vbscript:msgbox(1)\">vbscript</a>",
    "<a href=\"livescript:alert(1)\">livescript</a>",
    # data: URLs
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data</a>",
    "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "<a href=\"DATA:text/html,<script>alert(1)</script>\">DATA</a>",
    "<object data=\"data:text/html,<script>alert(1)</script>\"></object>",
    "<embed src=\"data:text/html,<script>alert(1)</script>\">",
    # svg and math, mutation XSS shapes
    "<svg onload=alert(1)><circle r=1></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<math><mi xlink:href=\"javascript:alert(1)\">m</mi></math>",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<svg><foreignObject><iframe src=javascript:alert(1)></iframe></foreignObject></svg>",
    # noscript, template, xmp, textarea, title tricks
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<template><img src=x onerror=alert(1)></template>visible",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<title><img src=x onerror=alert(1)></title>",
    "<noembed><img src=x onerror=alert(1)></noembed>",
    "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    # head-level and form-level tricks
    "<base href=\"javascript:alert(1)//\"><a href=\"/x\">rel</a>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<button formaction=\"javascript:alert(1)\">go</button>",
    "<input type=\"image\" src=\"javascript:alert(1)\">",
    "<isindex action=\"javascript:alert(1)\" type=image>",
    # comments, nested and malformed tags
    "<!--<img src=x onerror=alert(1)>-->after",
    "<!-- unclosed comment <img src=x onerror=alert(1)>",
    "<p>a<!--></p><img src=x onerror=alert(1)>-->b</p>",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "<img src=\"http://i.example/x.png\"\" onerror=\"alert(1)\">",
    "<img \"\"\"><script>alert(1)</script>\">",
    "<a href=\"http://ok.example/\"<img src=x onerror=alert(1)>>broken</a>",
    "<p <img src=x onerror=alert(1)>>",
    "<div><p><b><i><a href=\"javascript:alert(1)\">deep</a></i></b></p></div>",
    "<table><tr><td><img src=x onerror=alert(1)></td></tr><script>alert(1)</script></table>",
    "<a href=\"http://a.example/\"><a href=\"javascript:alert(1)\">nested</a></a>",
    "<span id=\"stock_1\"><a class=\"keytip\" href=\"javascript:alert(1)\">stock</a></span>",
    "<p class=\"em_media\" onclick=\"alert(1)\" style=\"x:expression(alert(1))\">（文章来源：X）</p>",
    "<img src=\"http://i.example/x.png\" width=\"100 onerror=alert(1)\" alt=\"\" onerror=\"alert(1)\">",
    "<td colspan=\"2 onmouseover=alert(1)\">cell</td>",
    # other sinks and Liquid
    "<marquee onstart=alert(1)>m</marquee>",
    "<applet code=\"javascript:alert(1)\"></applet>",
    "<frameset onload=alert(1)><frame src=\"javascript:alert(1)\"></frameset>",
    "<p>{{ site.github.token }} {% include ../../../etc/passwd %}</p>",
    "{{'<script>'}}{%raw%}<img src=x onerror=alert(1)>{%endraw%}",
    "<a href=\"http://x.example/{{x}}\">liquid in url</a><img src=\"http://i.example/a.png\" alt=\"{%x%}\">",
]
# fmt: on


def assert_safe(html: str) -> None:
    """Walk ``html`` with lxml: allowed tags and attributes only, safe URLs, no Liquid."""
    assert "{{" not in html and "{%" not in html
    if not html:
        return
    root = etree.HTML("<body>" + html)
    assert root is not None
    body = root.find("body")
    assert body is not None
    for node in body.iterdescendants():
        assert isinstance(node.tag, str), f"comment or PI survived: {node!r}"
        assert node.tag in ALLOWED_ATTRIBUTES, f"disallowed tag <{node.tag}>"
        for name, value in node.attrib.items():
            assert not name.lower().startswith("on"), f"event handler {name} on <{node.tag}>"
            assert name in ALLOWED_ATTRIBUTES[node.tag], f"attribute {name} on <{node.tag}>"
            if name in ("href", "src"):
                assert SAFE_URL.match(value), f"unsafe URL {value!r}"
            if name == "class":
                assert value == "em_media"


@pytest.mark.parametrize("base_url", ["", BASE])
@pytest.mark.parametrize("vector", VECTORS)
def test_vector_is_neutralized(vector: str, base_url: str) -> None:
    out = clean_body(vector, base_url)
    assert_safe(out)
    assert clean_body(out, base_url) == out


def test_corpus_size() -> None:
    assert len(VECTORS) >= 40
    assert len(set(VECTORS)) == len(VECTORS)


@pytest.mark.parametrize(
    "bad",
    [
        "<p>{{ x }}</p>",
        "<p>{% x %}</p>",
        "<script>alert(1)</script>",
        "<p onclick=alert(1)>x</p>",
        "<p ONCLICK=alert(1)>x</p>",
        '<a href="javascript:alert(1)">x</a>',
        '<img src="data:image/png;base64,AAAA">',
        '<a href="/relative">x</a>',
        '<p class="other">x</p>',
        '<p style="color:red">x</p>',
        '<a href="http://x.example/" target="_blank">x</a>',
        "<p><!-- c -->x</p>",
        "<div>x</div>",
    ],
)
def test_checker_rejects_unsafe_html(bad: str) -> None:
    """The checker itself can fail: it is not a tautology."""
    with pytest.raises(AssertionError):
        assert_safe(bad)


# -- exact outcomes for the key shapes


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        ('<a href="javascript:alert(1)">js</a>', "<p>js</p>"),
        ('<a href="jav\tascript:alert(1)">tab</a>', "<p>tab</p>"),
        ('<a href="&#x6A;avascript:alert(1)">ent</a>', "<p>ent</p>"),
        ('<img src="data:image/gif;base64,R0lGOD">after', "<p>after</p>"),
        (
            '<img src="http://i.example/x.png" onerror="alert(1)">',
            '<p><img src="http://i.example/x.png"></p>',
        ),
        ("<p onclick=alert(1)>click</p>", "<p>click</p>"),
        ("<script>alert(1)</script>text", "<p>text</p>"),
        ("<svg><script>alert(1)</script></svg>text", "<p>text</p>"),
        ("<template><img src=x onerror=alert(1)></template>visible", "<p>visible</p>"),
        ("<!--<img src=x onerror=alert(1)>-->after", "<p>after</p>"),
        (
            '<base href="http://evil.example/"><a href="/x">rel</a>',
            '<p><a href="http://finance.eastmoney.com/x">rel</a></p>',
        ),
        ("<p>{{ site.x }} {% raw %}</p>", "<p>&#123;{ site.x }} &#123;% raw %}</p>"),
        ('<a href="http://x.example/{{x}}">u</a>', '<p><a href="http://x.example/&#123;{x}}">u</a></p>'),
        ("<p>{{{</p>", "<p>&#123;&#123;{</p>"),
    ],
)
def test_vector_outcome(vector: str, expected: str) -> None:
    assert clean_body(vector, BASE) == expected


# -- generated hostile HTML


_TAGS = [
    "p", "a", "img", "b", "strong", "br", "table", "tr", "td", "ul", "li", "center", "h2",
    "script", "style", "svg", "math", "iframe", "noscript", "template", "xmp", "textarea",
    "title", "form", "button", "object", "embed", "base", "meta", "div", "span", "mglyph",
    "select", "option", "frameset", "noembed", "plaintext", "image", "body", "html",
]  # fmt: skip
_ATTRS = [
    'href="javascript:alert(1)"', "href=JaVaScRiPt:alert(1)", 'href="jav&#x09;ascript:x"',
    'src="data:text/html,x"', 'src="http://i.example/x.png"', 'href="//ok.example/"',
    "onerror=alert(1)", "OnClick=alert(1)", "onload='x'", 'style="display:none"',
    'style="background:url(javascript:x)"', 'srcdoc="<script>x</script>"',
    'formaction="javascript:x"', 'class="em_media"', 'class="keytip"', 'id="stock_1"',
    'xlink:href="javascript:x"', 'action="javascript:x"', 'content="0;url=javascript:x"',
    'width="1 onerror=x"', "colspan=2", 'alt="{{x}}"', 'href="/rel"', "hidden",
]  # fmt: skip
_TEXT = ["x", "中文", "　　", "{{", "{%", "&lt;script&gt;", "<!--", "-->", "]]>", "\r\n", "&", "<", ">", '"']


@st.composite
def hostile_html(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        if depth >= 4 or draw(st.booleans()):
            parts.append(draw(st.sampled_from(_TEXT)))
            continue
        tag = draw(st.sampled_from(_TAGS))
        attrs = " ".join(draw(st.lists(st.sampled_from(_ATTRS), max_size=3)))
        inner = draw(hostile_html(depth + 1))
        close = draw(st.sampled_from([f"</{tag}>", "", f"</{tag.upper()}>"]))
        parts.append(f"<{draw(st.sampled_from([tag, tag.upper()]))} {attrs}>{inner}{close}")
    return "".join(parts)


@settings(max_examples=examples(400), deadline=None, database=None)
@given(hostile_html(), st.sampled_from(["", BASE]))
def test_generated_hostile_html_is_neutralized(html: str, base_url: str) -> None:
    out = clean_body(html, base_url)
    assert_safe(out)
    assert clean_body(out, base_url) == out
