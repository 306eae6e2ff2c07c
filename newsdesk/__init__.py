"""Newsdesk: question answering over curated news with verified, cited source sentences."""

__version__ = "0.1.0"
