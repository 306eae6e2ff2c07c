"""The ingest stage, installed as newsdesk.ingest: load articles, split into sentences, chunk, embed, store.

May import the base modules (models, errors, settings, ports) only.
"""
