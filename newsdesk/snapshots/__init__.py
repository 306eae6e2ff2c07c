"""Index snapshots on S3: segments and their manifest, the writer that publishes them, compaction, S3 events, the reader.

May import the base modules (models, errors, settings, ports), newsdesk.ingest and newsdesk.index; never answer, api or app.
"""
