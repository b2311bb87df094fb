"""WARC capture of every fetch: records, the CDXJ index, the recorder and its middleware."""
