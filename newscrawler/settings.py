"""Scrapy settings for newscrawler, and the project's own namespaced defaults (SPEC §5).

Every value here can be overridden per run with ``-s NAME=VALUE``.
"""

BOT_NAME = "newscrawler"

SPIDER_MODULES = ["newscrawler.spiders"]
NEWSPIDER_MODULE = "newscrawler.spiders"

# --- The archive (SPEC §5) -------------------------------------------------------------
#: Archive root: ``_posts/`` and ``category/`` are written here.
ARCHIVE_DIR = "output"
#: Site root used in the posts' back links.
ARCHIVE_SITE = "//finews.withounder.com"
#: Seen-articles database, lock and run reports; empty means ``<ARCHIVE_DIR>/.newscrawler``.
STATE_DIR = ""

# --- eastmoney sources -----------------------------------------------------------------
#: The feeds the old cron scripts read (media feed, rolling news).
EASTMONEY_FEEDS = [
    "http://43.240.125.15:1818/information/newmarket/web/webapi?marketType=37|38|39&count=100",
    "http://183.136.162.242/web/webapi?type=102&count=100&newsid=1",
]
EASTMONEY_TEXT_URL = "http://finews.zning.xyz/NewsData/GetNewsText.do?id={info_code}"
EASTMONEY_ARTICLE_URL = "http://finance.eastmoney.com/a/{code}.html"
EASTMONEY_SHARE_URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode={info_code}"

# --- Pipelines ---------------------------------------------------------------------------
ITEM_PIPELINES = {
    "newscrawler.pipelines.ValidatePipeline": 100,
    "newscrawler.pipelines.CleanPipeline": 200,
    "newscrawler.pipelines.DedupPipeline": 300,
    # Off unless ARCHIVE_IMAGES: after dedup (no downloads for duplicates), before writing.
    "newscrawler.imagepipeline.ImageArchivePipeline": 350,
    "newscrawler.pipelines.WritePostPipeline": 400,
}

# --- Archival: WARC files and images (README "Archival") -------------------------------
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
    # Closer to the downloader than every built-in middleware (HttpCache is 900): sees
    # each retried attempt, each redirect and the still-encoded body.
    "newscrawler.warcmiddleware.WarcMiddleware": 950,
}

EXTENSIONS = {
    # Run summary in the log and <STATE_DIR>/last-run.json; releases the archive lock.
    "newscrawler.extensions.RunReport": 500,
}

#: Content duplicates (same or near-same cleaned text under another code) only count
#: against posts dated within this many days; 0 compares against the whole archive.
DEDUP_CONTENT_WINDOW_DAYS = 7

# --- Politeness and robustness -----------------------------------------------------------
USER_AGENT = "newscrawler/0.1 (+https://finews.withounder.com; news archive crawler)"
# The sources are JSON APIs and article pages that the archive links to; their
# robots.txt files do not cover API hosts. Obeying robots.txt would add a request per
# host per run (and the API hosts answer it with errors); see README "Politeness".
ROBOTSTXT_OBEY = False
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
AUTOTHROTTLE_ENABLED = False

# Items are exported in insertion order of Article fields; feed exports write UTF-8.
FEED_EXPORT_ENCODING = "utf-8"

# Scrapy >= 2.13 defaults, stated so the project does not depend on the template.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = "INFO"
LOG_FORMATTER = "newscrawler.logformatter.NewsLogFormatter"
