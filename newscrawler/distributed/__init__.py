"""The distributed mode (``REDIS_URL``): workers on any machines share article requests in
Redis and hand their articles to one writer (docs/distributed.md)."""
