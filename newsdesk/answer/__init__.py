"""Answering a question: retrieve, score evidence, choose and cite sentences, compose or generate the answer.

May import the base modules, newsdesk.ingest (sentence splitting) and newsdesk.index; never api, app or adapters.
"""
