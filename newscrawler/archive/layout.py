"""Where things are in an archive folder: the one home of its folder and file names."""

from __future__ import annotations

#: Article posts, and older ones moved by retention.
POSTS_DIR = "_posts"
OLD_POSTS_DIR = "old_post"
#: Category pages (``category/<slug>.html``).
CATEGORY_DIR = "category"
#: Archived images (``ARCHIVE_IMAGES``), served by the site at ``/assets/images/``.
ASSETS_DIR = "assets/images"
#: Folders of the archive that hold posts, in the order they are read.
POST_DIRS = (POSTS_DIR, OLD_POSTS_DIR)
#: Folders where a killed writer may leave hidden temp files.
TEMP_DIRS = (POSTS_DIR, OLD_POSTS_DIR, CATEGORY_DIR)
#: ``STATE_DIR`` when the setting is empty: inside the archive.
DEFAULT_STATE_SUBDIR = ".newscrawler"
#: In ``STATE_DIR``: the seen-articles store, the run lock, the run report, the write journal.
STORE_FILE = "seen.db"
LOCK_FILE = "lock"
REPORT_FILE = "last-run.json"
JOURNAL_FILE = "journal"
#: A worker of the distributed mode (docs/distributed.md) has its own lock and report: one
#: worker per STATE_DIR, beside the writer's files when they share it.
WORKER_LOCK_FILE = "worker.lock"
WORKER_REPORT_FILE = "last-worker-run.json"
