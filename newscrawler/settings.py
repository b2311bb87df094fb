"""Scrapy settings for newscrawler, and the project's own namespaced defaults (docs/contract.md "Settings").

Every value here can be overridden per run with ``-s NAME=VALUE``.
"""

from newscrawler.ids import CANONICAL_ARTICLE_URL

#: The project's name, as Scrapy's log names it (``bot: newscrawler``).
BOT_NAME = "newscrawler"

#: Where Scrapy looks for spiders: ``eastmoney`` and ``finews``.
SPIDER_MODULES = ["newscrawler.spiders"]
#: Where ``scrapy genspider`` would put a new spider.
NEWSPIDER_MODULE = "newscrawler.spiders"
# Our `scrapy crawl` (overrides Scrapy's): exit statuses a scheduler can act on (docs/operations.md "Exit statuses").
COMMANDS_MODULE = "newscrawler.commands"

# --- The archive (docs/contract.md "Settings") -------------------------------------------------------------
#: Archive root: ``_posts/`` and ``category/`` are written here.
ARCHIVE_DIR = "output"
#: Site root used in the posts' back links.
ARCHIVE_SITE = "//finews.withounder.com"
#: Seen-articles database, lock and run reports; empty means ``<ARCHIVE_DIR>/.newscrawler``.
STATE_DIR = ""
#: At the end of a run, article posts older than this many days (by the date in their file
#: name, Beijing time) move from ``_posts/`` to ``old_post/``; 0 keeps every post in ``_posts/``.
ARCHIVE_RETENTION_DAYS = 0
#: List the whole archive at the start of the run and record the posts the store does not
#: know (posts copied in by hand). Off, a run reads only what a killed run left in its write
#: journal: its start costs the same on a thousand posts and on a million.
ARCHIVE_RESCAN = False

# --- eastmoney sources (docs/contract.md "Sources", "Settings") --------------------------------------------------
#: Today's feeds, as eastmoney's own pages ask them: the column list of columns 344
#: (财经导读) and 345 (资讯精华), and the 7x24 fast news. A comma inside a URL is written
#: ``%2C``: list settings split on commas.
EASTMONEY_FEEDS = [
    "https://np-listapi.eastmoney.com/comm/web/getNewsByColumns?client=web&biz=web_news_col"
    "&column=344%2C345&order=1&page_index=1&page_size=50&req_trace=newscrawler"
    "&fields=code%2CshowTime%2Ctitle%2CmediaName%2Csummary%2Cimage%2Curl%2CuniqueUrl%2CNp_dst",
    "https://np-weblist.eastmoney.com/comm/web/getFastNewsList?client=web&biz=web_724"
    "&fastColumn=102&sortEnd=&pageSize=50&req_trace=newscrawler",
]
#: Pages a pageable feed (column list, fast news) may be followed back in one run to
#: catch up after missed runs; 1 never asks for an older page.
EASTMONEY_FEED_MAX_PAGES = 10
#: Text sources, asked in this order; an empty URL turns a source off. The legacy text
#: API of the 2022 scripts (``{info_code}``) is off: it has not answered since 2024.
#: Example: ``http://finews.zning.xyz/NewsData/GetNewsText.do?id={info_code}``.
EASTMONEY_TEXT_URL = ""
#: Today's article JSON API (``{code}``): ``Art_Title``, ``Art_Content`` ...
EASTMONEY_ARTICLE_API_URL = "https://newsinfo.eastmoney.com/kuaixun/v2/api/article/{code}"
#: The article page (``{code}``), the last resort; also the source line of fast news.
EASTMONEY_ARTICLE_URL = CANONICAL_ARTICLE_URL
#: The share link written as the source line of outlet posts (``{info_code}``: ``NW`` + the
#: 18-digit code; ``{code}`` also works).
EASTMONEY_SHARE_URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode={info_code}"
#: The ``Referer`` each endpoint's own pages send: the first URL fragment found in a feed
#: or text-source URL picks it (a JSON object with ``-s``).
EASTMONEY_REFERERS = {
    "getNewsByColumns": "https://finance.eastmoney.com/",
    "getFastNewsList": "https://kuaixun.eastmoney.com/",
    "/kuaixun/v2/api/article/": "https://kuaixun.eastmoney.com/",
    "eastmoney.com/a/": "https://finance.eastmoney.com/",
}

# --- Distributed mode (docs/distributed.md) ------------------------------------------------
#: Redis of the distributed mode (``redis://host:6379/0``): workers (``scrapy crawl eastmoney``,
#: ``finews``) share their article requests there and hand their articles to the one writer
#: (``scrapy crawl writer``). Empty: one process does everything, nothing needs Redis.
REDIS_URL = ""
#: Prefix of this archive's Redis keys (letters, digits and ``_.-``): one Redis can serve several archives.
REDIS_KEY_PREFIX = "newscrawler"
#: How long a worker's article claims outlive it: the articles a killed worker had are
#: fetched by a run that starts this many seconds later (it renews them a third as often).
REDIS_HEARTBEAT_SECONDS = 30.0
#: An article a worker tried and did not hand to the writer (no text from any source, a date
#: in the future ...) rests this many seconds before any worker tries it again: the workers
#: of one scheduled run do not try it twice, a later run does.
REDIS_RETRY_AFTER_SECONDS = 120.0
#: The writer stops when, for this many seconds, no article came and no worker was alive;
#: 0 keeps it running until it is stopped (a service).
REDIS_WRITER_IDLE_SECONDS = 5.0
#: Set by the ``writer`` spider (above any ``-s``); with REDIS_URL, a run of any other spider is a worker.
NEWSCRAWLER_ROLE = ""
#: The distributed mode switches the scheduler and the pipelines of a worker when REDIS_URL is set.
ADDONS = {"newscrawler.distributed.addon.DistributedMode": 0}

# --- Pipelines ---------------------------------------------------------------------------
#: validate (100), clean (200), deduplicate (300), archive images (350), write (400).
ITEM_PIPELINES = {
    "newscrawler.pipelines.validate.ValidatePipeline": 100,
    "newscrawler.pipelines.clean.CleanPipeline": 200,
    "newscrawler.pipelines.dedup.DedupPipeline": 300,
    # Off unless ARCHIVE_IMAGES: after dedup (no downloads for duplicates), before writing.
    "newscrawler.pipelines.images.ImageArchivePipeline": 350,
    "newscrawler.pipelines.write.WritePostPipeline": 400,
}

# --- Archival: WARC files and images (docs/archival.md) -------------------------------
#: Directory of the crawl's WARC files and their ``index.cdxj``; empty means no WARC files.
WARC_DIR = ""
#: A WARC file is closed and a new one started before it would exceed this many bytes.
WARC_MAX_SIZE = 100 * 1024 * 1024
#: Extra or overriding ``warcinfo`` fields (e.g. ``{"operator": "...", "hostname": ""}``;
#: an empty value drops a field).
WARC_INFO: dict[str, str] = {}
#: Download the images of post bodies into ``<ARCHIVE_DIR>/assets/images/`` and point the
#: posts at them.
ARCHIVE_IMAGES = False
#: Image downloads follow redirects (Scrapy's media pipelines do not by default).
MEDIA_ALLOW_REDIRECTS = True
DOWNLOADER_MIDDLEWARES = {
    # Before anything else: an article the archive already has is never requested.
    "newscrawler.middlewares.SkipKnownArticlesMiddleware": 50,
    # Closer to the downloader than RetryMiddleware (550): counts each failed attempt at a
    # text source for its circuit breaker before the attempt is retried.
    "newscrawler.middlewares.TextSourceBreakerMiddleware": 560,
    # Closer to the downloader than every built-in middleware (HttpCache is 900): sees
    # each retried attempt, each redirect and the still-encoded body.
    "newscrawler.warc.middleware.WarcMiddleware": 950,
}

EXTENSIONS = {
    # Run summary in the log and <STATE_DIR>/last-run.json; releases the archive lock.
    "newscrawler.extensions.RunReport": 500,
}

#: Content duplicates (same or near-same cleaned text under another code) only count
#: against posts dated within this many days; 0 compares against the whole archive.
DEDUP_CONTENT_WINDOW_DAYS = 7
#: Check the seen-articles store's pages (``PRAGMA quick_check``, about a second for a
#: million articles) at the first run after this many hours, and after a run that did not
#: close it; 0 checks at every run.
DEDUP_STORE_CHECK_HOURS = 24.0
# Posts are made durable (one filesystem sync) and recorded in the store (one
# transaction) in batches: every this many posts, or this many seconds, and at the end.
WRITE_BATCH_SIZE = 100
WRITE_BATCH_SECONDS = 2.0

# --- Politeness and robustness -----------------------------------------------------------
# (docs/reliability.md "Politeness and limits" explains each choice.)
# Every request says who is asking and where to find out more.
USER_AGENT = "newscrawler/0.1 (+https://finews.withounder.com; news archive crawler)"
# Not obeyed by default: the eastmoney sources are JSON APIs (the feed list APIs, the
# article API) fetched one request per announced article, not pages to discover, and a robots.txt
# request to a dead feed host would double the time the run waits for it. Turn it on
# (-s ROBOTSTXT_OBEY=True) to crawl someone else's archive site: a refused request is then
# counted as newscrawler/errors/<source>_robots_forbidden, never silently skipped.
ROBOTSTXT_OBEY = False
# Polite by default: at most 2 requests at a time to one host, at least ~0.5 s apart
# (randomized 0.25-0.75 s), slower when the host slows down (AutoThrottle aims at 2
# requests in flight per host and backs off up to 30 s between requests).
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# News APIs answer in well under a second with bodies of tens of KB (a 100-item feed,
# an article page ~200 KB): 20 s is a dead or stuck host, and 4 MiB (also once
# decompressed) is not a news item. Both end as counted errors (timeout, too_large).
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 4 * 1024 * 1024
#: A body over this size is logged as a warning (an article page is ~200 KB).
DOWNLOAD_WARNSIZE = 1024 * 1024
# A body cut short (fewer bytes than its Content-Length) is an error, never a partial post.
DOWNLOAD_FAIL_ON_DATALOSS = True
# Transient failures (5xx, 408, 429, timeouts, refused or dropped connections, data loss,
# DNS) are tried 3 times in all; the last failure reaches the spider's errback.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
#: Redirects followed for one request; one more is ``newscrawler/errors/<source>_too_many_redirects``,
#: or ``..._redirect_loop`` when the chain repeats a URL.
REDIRECT_MAX_TIMES = 5
# A redirect is never dropped as a duplicate (which would lose its article silently):
# loops end at REDIRECT_MAX_TIMES as newscrawler/errors/<source>_redirect_loop.
DUPEFILTER_CLASS = "newscrawler.dupefilter.RedirectAwareDupeFilter"
#: No cookies: every request stands alone.
COOKIES_ENABLED = False
#: No telnet console: nothing listens on a port during a run.
TELNETCONSOLE_ENABLED = False
#: No remote control either (Scrapy 2.19's HTTP server that runs the code it is sent, with
#: a job file per run in the user's profile): nothing listens, nothing is left behind.
REMOTE_CONTROL_ENABLED = False

# --- Scrapy's own per-response costs (docs/benchmarks-notes.md) --------------------
# Scrapy starts CONCURRENT_ITEMS worker tasks for the output of *every* response (the limit
# is per response; 100 by default): about 1 ms of CPU a response on a 2-core machine, as
# much as the whole download. Our callbacks yield one item, or a list of requests that are
# only scheduled, per response: one worker is all they can use.
CONCURRENT_ITEMS = 1
# Scrapy re-reads and parses a callback's source to warn about generators that return a
# value; its cache is keyed by short-lived bound methods, so it does this on a sixth of
# the responses here. tests/test_settings.py checks our callbacks once instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# Items are exported in insertion order of Article fields; feed exports write UTF-8.
FEED_EXPORT_ENCODING = "utf-8"

#: Scrapy's default reactor since 2.13, stated so the project does not depend on the template.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
#: One log line per post written and per failure (Scrapy's default, ``DEBUG``, logs every request).
LOG_LEVEL = "INFO"
#: Drop and scrape log lines that name the article and its URL.
LOG_FORMATTER = "newscrawler.logformatter.NewsLogFormatter"
#: Scrapy logs the versions of its dependencies at start-up: only its own, on the first line.
LOG_VERSIONS: list[str] = []
#: Log Scrapy's dumps (the overridden settings, the enabled components, the stats at the
#: end) at INFO; off, they are DEBUG lines and a run that finds nothing new logs a dozen
#: lines, its summary last.
NEWSCRAWLER_LOG_DUMPS = False
