"""Article codes in every form the sources use, and -a list splitting."""

from __future__ import annotations

import pytest

from newscrawler.ids import extract_code, is_code, split_list_arg

CODE = "202203282325203083"


@pytest.mark.parametrize(
    "value",
    [
        f"NW{CODE}",
        f"nw{CODE}",
        CODE,
        f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW{CODE}",
        f"https://finews.zning.xyz/html_News/NewsShare.html?a=1&infoCode=NW{CODE}#x",
        f"http://finance.eastmoney.com/a/{CODE}.html",
        f"http://finance.eastmoney.com/news/1350,{CODE}.html",
        f"//finance.eastmoney.com/news/11060,{CODE}.html",
        f"  NW{CODE}\n",
        int(CODE),
    ],
)
def test_every_form_gives_the_code(value: object) -> None:
    assert extract_code(value) == CODE


@pytest.mark.parametrize(
    "value",
    [
        "NW123",
        "NW../../etc/passwd",
        f"NW{CODE}\x00",
        "NW２０２２０３２８２３２５２０３０８３",
        "202213282325203083",  # month 13
        "2022032823252030831",  # 19 digits
        "",
        None,
        True,
        ["NW" + CODE],
        "http://finance.eastmoney.com/a/12345.html",
    ],
)
def test_bad_codes_are_refused(value: object) -> None:
    assert extract_code(value) is None


def test_is_code_checks_the_date_prefix() -> None:
    assert is_code(CODE)
    assert not is_code("202202302325203083")  # 30 February
    assert not is_code("１" * 18)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("a,b", ["a", "b"]),
        (f"NW{CODE} {CODE},NW{CODE}", [f"NW{CODE}", CODE, f"NW{CODE}"]),
        (
            f"http://finance.eastmoney.com/news/1350,{CODE}.html,NW{CODE}",
            [f"http://finance.eastmoney.com/news/1350,{CODE}.html", f"NW{CODE}"],
        ),
        (
            f"http://x/feed?a=1,http://y/feed\n\thttp://z/news/1350,{CODE}.html",
            ["http://x/feed?a=1", "http://y/feed", f"http://z/news/1350,{CODE}.html"],
        ),
        (",, ,", []),
    ],
)
def test_split_list_arg(arg: str, expected: list[str]) -> None:
    assert split_list_arg(arg) == expected
