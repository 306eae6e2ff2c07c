"""Ingest: load articles, split into sentences, chunk, embed and store."""
