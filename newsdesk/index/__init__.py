"""The local index and what is derived from it: lexical index, sentence vectors, article part files, archive, write lock.

May import the base modules (models, errors, settings, ports) and newsdesk.ingest; never snapshots, answer, api or app.
"""
