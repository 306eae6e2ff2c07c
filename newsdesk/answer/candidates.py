"""Retrieve and read: the current articles for a question (each outlet it names included) and their sentences."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from newsdesk.answer.evidence import named_outlets
from newsdesk.answer.library import Found, Library
from newsdesk.index.lexical import Lexical
from newsdesk.models import Filters, Matrix, StoredSentence, is_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retrieved:
    """The articles a question's evidence comes from, best first, and what it was retrieved on."""

    found: Found  # every article looked at, with its current version
    evidence_ids: list[str]  # the articles whose sentences are read, best first (named outlets' best appended)
    ranked_ids: tuple[str, ...]  # the top 10 current articles
    outlets: list[str]  # the outlets the question names
    lexical: Lexical  # the lexical index the articles were retrieved from (a newer one after a retry)


def retrieve_current(library: Library, lexical: Lexical, question: str, text: str, vector: Matrix, filters: Filters,
                     evidence_articles: int) -> Retrieved:
    """The best current articles for `text`; a hit of another version than the stored one means the index changed
    under the question (a reader swapped in a newer copy, or a write is landing): retrieved once more."""
    for attempt in range(2):
        top = library.ranked(text, vector, filters, lexical)[: max(10, evidence_articles)]
        found = library.articles([r.article_id for r in top])
        # A hit from an older version, or from an article being deleted, is not shown.
        current = [r for r in top if r.article_id in found and is_version(found[r.article_id][1], r.version)]
        if attempt or not any(r.article_id in found for r in top if r not in current):
            break
        log.info("index changed during a question, retrieving again")
        lexical = library.lexical()
    evidence_ids = [r.article_id for r in current[:evidence_articles]]
    return Retrieved(found, evidence_ids, tuple(r.article_id for r in current[:10]), [], lexical)


def add_named_outlets(retrieved: Retrieved, library: Library, question: str, text: str, vector: Matrix,
                      filters: Filters) -> Retrieved:
    """A question naming several outlets needs each one's reporting: the best article of each named outlet that
    the evidence lacks is added to it."""
    outlets = named_outlets(question, retrieved.lexical.outlets) if filters.outlet is None else []
    found, evidence_ids = dict(retrieved.found), list(retrieved.evidence_ids)
    for outlet in outlets:
        if not any((found[a][0].outlet or "").casefold() == outlet.casefold() for a in evidence_ids):
            # the outlet's best current article among its best three hits
            for extra in library.current(text, vector, replace(filters, outlet=outlet), 1, retrieved.lexical):
                if extra[0].id not in found:
                    found[extra[0].id] = extra
                    evidence_ids.append(extra[0].id)
    return replace(retrieved, found=found, evidence_ids=evidence_ids, outlets=outlets)


def read_sentences(library: Library, retrieved: Retrieved) -> list[StoredSentence]:
    """The stored sentences (with vectors) of the evidence articles, article by article in rank order."""
    return library.sentences_of({a: retrieved.found[a] for a in retrieved.evidence_ids})


def keep_named(retrieved: Retrieved, names: tuple[str, ...]) -> Retrieved:
    """For a follow-up that carried names from the conversation ("What about injuries?" after a question about the
    Marenza earthquake): only the evidence articles that name one of them, when any does."""
    if not names:
        return retrieved
    wanted = [n.casefold() for n in names]

    def names_one(article_id: str) -> bool:
        article = retrieved.found[article_id][0]
        text = f"{article.title or ''} {article.text}".casefold()
        return any(n in text for n in wanted)

    kept = [a for a in retrieved.evidence_ids if names_one(a)]
    return replace(retrieved, evidence_ids=kept) if kept else retrieved
