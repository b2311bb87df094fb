"""Parsers for eastmoney sources: feeds, the legacy text API, the article API, article pages.

No Scrapy imports: every parser takes the URL and the bytes or text of a response.
JSON is read before any markup; selectors are class constants; regular expressions
only ever run on extracted text.
"""
