"""The index and what is derived from it: lexical index, sentence vectors, S3 snapshots, their writer, S3 events.

May import the base modules (models, errors, settings, ports) and newsdesk.ingest; never answer, api or app.
"""
