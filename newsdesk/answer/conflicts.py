"""Conflicts: figures for the same thing that cited articles give differently, grouped and put newest first."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from newsdesk.index.lexical import terms
from newsdesk.models import Citation, Claim, ClaimGroup, day_number

QUALIFIER = r"(?:(?:about|around|roughly|nearly|almost|approximately|some|over|under|at least|at most|more than|" \
            r"fewer than|less than|up to|an estimated|as many as)\s+)?"
NUMBER = re.compile(
    rf"(?<![\w.,:/-]){QUALIFIER}(?P<currency>[$€£]\s?)?(?P<digits>\d{{1,3}}(?:,\d{{3}})+|\d+)(?P<decimals>\.\d+)?"
    r"(?P<percent>\s?%)?(?:\s+(?P<scale>thousand|million|billion|trillion|percent|per cent)\b)?(?![\w.,:/-]*\d)",
    re.I)
UNIT_WORD = re.compile(r"\s+(?P<word>[a-z][a-z-]*)")
FILLER = frozenset({
    "more", "new", "other", "additional", "extra", "fewer", "further", "confirmed", "reported", "known", "total",
    "people's"
})
NOT_UNITS = frozenset({
    "a", "an", "the", "and", "or", "but", "to", "of", "in", "on", "at", "by", "for", "from", "with", "as", "per",
    "than", "that", "this", "these", "those", "was", "were", "is", "are", "be", "been", "has", "have", "had",
    "will", "would", "could", "should", "may", "might", "did", "do", "does", "it", "its", "their", "his", "her",
    "who", "which", "when", "where", "while", "after", "before", "since", "until", "about", "around", "over",
    "under", "into", "out", "up", "down", "off", "p", "a.m", "p.m", "am", "pm", "percent"
})
DEATH_WORDS = frozenset({
    "dead", "death", "deaths", "died", "die", "dying", "killed", "kill", "killing", "fatalities", "fatality",
    "fatal", "toll", "lives", "bodies"
})
PEOPLE = frozenset({
    "people", "person", "persons", "residents", "individuals"
})
SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
MONTH_NAMES = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"
})


@dataclass(frozen=True)
class Figure:
    """A number a sentence gives, with what it counts."""

    value: str  # verbatim from the sentence, e.g. "about 12,000 homes"
    amount: float
    unit: str  # what it counts, in one canonical word ("homes", "deaths", "$")


def figures(sentence: str) -> list[Figure]:
    """The counted numbers of a sentence: years, times, dates and bare numbers are left out."""
    lower = sentence.casefold()
    deaths = bool(DEATH_WORDS & set(re.findall(r"[a-z]+", lower)))
    out = []
    for m in NUMBER.finditer(sentence):
        amount = float(m.group("digits").replace(",", "") + (m.group("decimals") or ""))
        scale = (m.group("scale") or "").casefold()
        amount *= SCALE.get(scale, 1.0)
        before = sentence[max(0, m.start() - 12):m.start()].casefold().split()
        if before and before[-1].strip(".,") in MONTH_NAMES:
            continue  # "March 12"
        if _year(m):
            continue
        unit, end = _unit(sentence, m, deaths)
        if unit is None:
            continue
        value = sentence[m.start():end].strip()
        if m.start() == 0 and not value[:1].isdigit():  # "At least 12 people" opening the sentence
            value = value[:1].lower() + value[1:]
        out.append(Figure(value, amount, unit))
    return out


def _year(m: re.Match[str]) -> bool:
    digits = m.group("digits")
    plain = not (m.group("currency") or m.group("decimals") or m.group("percent") or m.group("scale"))
    return plain and len(digits) == 4 and 1900 <= int(digits) <= 2099


def _unit(sentence: str, m: re.Match[str], deaths: bool) -> tuple[str | None, int]:
    """What a number counts and where its words end; None when it counts nothing we can name."""
    if m.group("currency"):
        return "$", m.end()
    if m.group("percent") or (m.group("scale") or "").casefold() in {"percent", "per cent"}:
        return "%", m.end()
    end = m.end()
    word = None
    for _ in range(2):
        follow = UNIT_WORD.match(sentence, end)
        if not follow:
            break
        word, end = follow.group("word").casefold(), follow.end()
        if word not in FILLER:
            break
    if word is None or word in NOT_UNITS or word in FILLER:
        lead = sentence[max(0, m.start() - 40):m.start()].casefold()
        return ("deaths", m.end()) if re.search(r"\btoll\b", lead) else (None, m.end())
    if word in DEATH_WORDS or (word in PEOPLE and deaths):
        return "deaths", end
    return _singular(word), end


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def related(a: str, b: str) -> bool:
    """Whether two sentences speak of the same event: they share a content word other than numbers."""
    words_a = {t for t in terms(a) if not any(c.isdigit() for c in t)}
    words_b = {t for t in terms(b) if not any(c.isdigit() for c in t)}
    return len(words_a & words_b) >= 2


@dataclass(frozen=True)
class _Found:
    citation: Citation
    figure: Figure


def find_conflicts(citations: list[Citation],
                   same_event: Callable[[Citation, Citation], bool] | None = None) -> tuple[ClaimGroup, ...]:
    """Groups of figures for the same thing from different articles, where the figures differ.

    Each article's figure for a thing is the one in its best-ranked cited sentence; claims in a group are
    newest first (undated last)."""
    same_event = same_event or (lambda a, b: related(a.sentence, b.sentence))
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
            if any(same_event(f.citation, m.citation) for m in members):
                members.append(f)
        if len({m.figure.amount for m in members}) < 2:
            continue
        members.sort(key=lambda f: -(day_number(f.citation.published_at) or 0))
        groups.append(ClaimGroup(unit, tuple(
            Claim(m.citation.n, m.figure.value, m.citation.article_id, m.citation.outlet, m.citation.published_at)
            for m in members)))
    return tuple(groups)


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
    moved = tuple(ClaimGroup(g.about, tuple(replace(claim, n=number[claim.n]) for claim in g.claims)) for g in groups)
    return renumbered, moved


def conflict_note(groups: tuple[ClaimGroup, ...]) -> str | None:
    """One line per thing the reports differ on, newest first, in the cited sentences' own words."""
    if not groups:
        return None
    lines = []
    for group in groups:
        parts = [f"{_who(c)} reported {c.value} {_when(c)} [{c.n}]" for c in group.claims]
        lines.append("The reports differ, newest first: " + "; ".join(parts) + ".")
    return " ".join(lines)


def _who(claim: Claim) -> str:
    return claim.outlet or "an article"


def _when(claim: Claim) -> str:
    return f"on {claim.published_at[:10]}" if claim.published_at else "(undated)"


def resolve(citations: list[Citation]) -> tuple[list[Citation], tuple[ClaimGroup, ...], str | None]:
    """The citations with any conflict found, read newest first, its claims grouped and the note saying so."""
    citations, groups = arrange(citations, find_conflicts(citations))
    return citations, groups, conflict_note(groups)
