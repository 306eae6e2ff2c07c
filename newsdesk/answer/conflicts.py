"""Conflicts: figures for the same thing that cited articles give differently, grouped and put newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from newsdesk.answer.figures import TENS_WORDS, UNITS_WORDS, VAGUE_VALUES, Figure, amount_of, asked_units, figures
from newsdesk.answer.measures import JOB_CUTS, JOB_UNITS, PEOPLE_MEASURES, PERSONS
from newsdesk.answer.question import names
from newsdesk.index.lexical import terms
from newsdesk.models import Citation, Claim, ClaimGroup, day_number

# Words any two reports of figures share whatever they are about: the count's own words, scale words and the
# attribution ("the project cost $6.8 million, the library director said" and "the line will cost $4.2 million,
# the transit director said" are two events).
GENERIC_WORDS = ("said", "says", "told", "according", "official", "officials", "director", "spokesperson",
                 "spokesman", "spokeswoman", "cost", "costs", "million", "billion", "thousand", "hundred", "percent",
                 "per", "cent", "year", "years", "month", "months", "week", "weeks", "day", "days", "total", "number")
MEASURE_TERMS = frozenset(terms(" ".join(
    set().union(*PEOPLE_MEASURES.values()) | PERSONS | JOB_UNITS | JOB_CUTS | set(UNITS_WORDS) | set(TENS_WORDS)
    | set(VAGUE_VALUES) | set(GENERIC_WORDS))))


def related(a: str, b: str) -> bool:
    """Whether two sentences speak of the same event: they share two content words besides numbers and the words
    of the count itself ("people", "died": two deaths counts of different events share those)."""
    words_a = {t for t in terms(a) if not any(c.isdigit() for c in t)} - MEASURE_TERMS
    words_b = {t for t in terms(b) if not any(c.isdigit() for c in t)} - MEASURE_TERMS
    return len(words_a & words_b) >= 2


def same_event(a: str, b: str, names: tuple[str, ...] = (), titles: tuple[str, str] = ("", "")) -> bool:
    """Whether two reports speak of the same event: their sentences are `related`, or both (sentence or its
    article's title) name something the question names ("140 people were injured" under "Marenza quake toll climbs"
    and "... injuring dozens" in Marenza, asked about "the Marenza earthquake")."""
    if related(a, b):
        return True
    first, second = f"{titles[0]} {a}", f"{titles[1]} {b}"
    return any(_mentions(first, n) and _mentions(second, n) for n in names)


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I) is not None


@dataclass(frozen=True)
class _Found:
    citation: Citation
    figure: Figure


def find_conflicts(citations: list[Citation], question: str | None = None) -> tuple[ClaimGroup, ...]:
    """Groups of figures for the same thing from different articles, where the figures differ.

    Each article's figure for a thing is the one in its best-ranked cited sentence; claims in a group are
    newest first (undated last). With a `question` that asks for a measure ("how many acres", "how many died"),
    only the groups of that measure: the note is about what was asked, not the first number found."""
    named = tuple(names(question)) if question else ()

    def one_event(a: Citation, b: Citation) -> bool:
        return same_event(a.sentence, b.sentence, named, (a.title or "", b.title or ""))

    by_unit: dict[str, list[_Found]] = {}
    for c in citations:
        for figure in figures(c.sentence):
            found = by_unit.setdefault(figure.unit, [])
            if not any(f.citation.article_id == c.article_id for f in found):
                found.append(_Found(c, figure))
    groups = []
    for unit, found in by_unit.items():
        members = [found[0]]
        for f in found[1:]:
            if any(one_event(f.citation, m.citation) for m in members):
                members.append(f)
        if len({m.figure.amount for m in members}) < 2:
            continue
        members.sort(key=lambda f: -(day_number(f.citation.published_at) or 0))
        claims = tuple(Claim(m.citation.n, m.figure.value, m.citation.article_id, m.citation.outlet,
                             m.citation.published_at) for m in members)
        groups.append(ClaimGroup(unit, claims, _kind(claims)))
    wanted = asked_units(question) if question else frozenset()
    return tuple(g for g in groups if g.about in wanted) if wanted else tuple(groups)


def _kind(claims: tuple[Claim, ...]) -> str:
    """"updated" when the newest claim is dated later than every other (a revision), else "differ"."""
    days = [day_number(c.published_at) for c in claims]
    newest, rest = days[0], days[1:]
    return "updated" if newest is not None and all(d is not None and d < newest for d in rest) else "differ"


def arrange(citations: list[Citation], groups: tuple[ClaimGroup, ...]) -> tuple[list[Citation], tuple[ClaimGroup, ...]]:
    """Citations renumbered so the conflicting claims' sentences read newest first (their slots swap among
    themselves; other citations keep their place); the groups follow the new numbers."""
    if not groups:
        return citations, groups
    in_conflict = [c for c in citations if any(claim.n == c.n for g in groups for claim in g.claims)]
    slots = [i for i, c in enumerate(citations) if c in in_conflict]
    ordered = sorted(in_conflict, key=lambda c: -(day_number(c.published_at) or 0))
    arranged = list(citations)
    for slot, c in zip(slots, ordered, strict=True):
        arranged[slot] = c
    number = {c.n: i + 1 for i, c in enumerate(arranged)}
    renumbered = [replace(c, n=number[c.n]) for c in arranged]
    moved = tuple(replace(g, claims=tuple(replace(claim, n=number[claim.n]) for claim in g.claims)) for g in groups)
    return renumbered, moved


def conflict_note(groups: tuple[ClaimGroup, ...]) -> str | None:
    """One line per thing the reports differ on, newest first, in the cited sentences' own words: a figure revised
    over time leads with the current one and calls the others earlier; reports of one day that disagree say so."""
    if not groups:
        return None
    lines = []
    for group in groups:
        parts = [f"{_who(c)} reported {c.value} {_when(c)} [{c.n}]" for c in group.claims]
        if group.kind == "updated":
            runs = _same_figure_runs(group.claims)  # a figure repeated by a later report is one step of the update
            steps = [f"{_who(run[0])} reported {run[0].value} {_when(run[0])} [{run[0].n}]"
                     + "".join(f", as did {_who(c)} {_when(c)} [{c.n}]" for c in run[1:]) for run in runs]
            lines.append(f"The figure was updated over time: the latest, {steps[0]}; earlier, " + "; ".join(steps[1:]) + ".")
        else:
            lines.append("The reports differ, newest first: " + "; ".join(parts) + ".")
    return " ".join(lines)


def _same_figure_runs(claims: tuple[Claim, ...]) -> list[list[Claim]]:
    """Claims (newest first) in runs that give the same amount ("nineteen people" and "19")."""
    runs: list[list[Claim]] = []
    for claim in claims:
        if runs and amount_of(runs[-1][0].value) == amount_of(claim.value) is not None:
            runs[-1].append(claim)
        else:
            runs.append([claim])
    return runs


def _who(claim: Claim) -> str:
    return claim.outlet or "an article"


def _when(claim: Claim) -> str:
    return f"on {claim.published_at[:10]}" if claim.published_at else "(undated)"


def resolve(citations: list[Citation], question: str | None = None
            ) -> tuple[list[Citation], tuple[ClaimGroup, ...], str | None]:
    """The citations with any conflict found (of what `question` asks about), its claims grouped and the note
    saying so. For a question that asks for the figure, the conflicting sentences read newest first; for one that
    does not ("When did it happen?"), the note still tells of the figures, but the best answer stays first."""
    groups = find_conflicts(citations, question=question)
    if question is None or asked_units(question):
        citations, groups = arrange(citations, groups)
    return citations, groups, conflict_note(groups)
