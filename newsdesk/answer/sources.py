"""Which sources a question asks for: each outlet mention (with its date, if any), and its time wishes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from newsdesk.answer.timeline import DayRange, TimeAsk, dates_in, read_time, times_in

# "both articles from X", "two X reports": one mention of X stands for two articles.
WRITINGS = r"(?:articles|reports|stories|pieces|reviews)"
PAIRED_BEFORE = re.compile(rf"\b(?:both|two)\s+(?:of\s+the\s+)?{WRITINGS}\s+(?:from|by|in|of)\s+(?:the\s+)?['\"‘“]?$", re.I)
PAIRED_AROUND = (re.compile(r"\b(?:both|two)\s+(?:the\s+)?['\"‘“]?$", re.I), re.compile(rf"^['\"’”]?\s+{WRITINGS}\b", re.I))
SAME_SOURCE = re.compile(r"\b(?:the\s+)?same\s+(?:source|outlet|publication|publisher|site|newspaper)\b", re.I)
COMPARE = re.compile(
    r"\b(?:both|agree[ds]?|disagree[ds]?|differ(?:s|ed|ent|ence)?|compar(?:e[ds]?|ison)|consisten(?:t|cy)|"
    r"inconsisten(?:t|cy)|contrast|whereas|versus|vs|which (?:outlet|source|publication)|(?:report|said) first|"
    r"first to report)\b", re.I)
# Words about reporting rather than about the news: articles never contain them as the answer.
META_WORDS = frozenset({
    "article", "articles", "report", "reports", "reported", "reporting", "story", "stories", "piece", "pieces",
    "outlet", "outlets", "source", "sources", "publication", "published", "publish", "according", "say", "says",
    "said", "mention", "mentions", "mentioned", "cover", "covered", "coverage", "agree", "agrees", "agreed",
    "disagree", "disagrees", "latest", "newest", "recent", "recently", "now", "current", "currently", "updated",
    "update", "far", "date", "suggest", "suggests", "suggested", "imply", "implies", "implied", "indicate",
    "indicates", "indicated", "claim", "claims", "claimed", "describe", "describes", "described", "discuss",
    "discusses", "discussed", "does", "did", "do", "change", "changed", "changes", "first", "earlier", "later",
    "consistent", "consistency", "consistently", "inconsistent", "inconsistency", "subsequent", "portrayal",
    "portray", "portrays", "portrayed", "narrative", "narratives", "topic",
})

# Words that join a clause's parts, which the lexical stop list keeps.
LINKING_WORDS = frozenset({
    "between", "from", "after", "before", "about", "against", "during", "among", "across", "through", "within",
    "into", "over", "also", "there", "article's", "report's", "has", "have", "had", "is", "was", "were", "are",
    "been", "be", "will", "would",
})


@dataclass(frozen=True)
class SourceAsk:
    """One source the question asks for: an outlet (None: any) and the days it wrote on (None: any)."""

    outlet: str | None
    days: DayRange | None
    start: int  # where the question names it
    end: int


@dataclass(frozen=True)
class Plan:
    """What a question asks of its sources."""

    mentions: tuple[SourceAsk, ...]  # in the question's order; an outlet named twice counts twice
    time: TimeAsk
    compare: bool  # "agree", "both", "differ", "consistent", "which outlet first"...
    content: str  # the question without outlet names, dates and words about reporting

    @property
    def outlets(self) -> list[str]:
        """The distinct outlets named, in the question's order."""
        return list(dict.fromkeys(m.outlet for m in self.mentions if m.outlet))

    @property
    def multi(self) -> bool:
        """Whether the answer needs several articles: several mentions, or a comparison across outlets."""
        return len(self.mentions) > 1

    @property
    def ranges(self) -> tuple[DayRange, ...]:
        """Dates that apply to the whole question (those beside an outlet belong to its mention)."""
        return self.time.ranges if not self.mentions else ()


@lru_cache(maxsize=256)
def plan_sources(question: str, outlets: tuple[str, ...]) -> Plan:
    """The sources a question asks for, given the collection's outlet names."""
    time = read_time(question)
    named = _occurrences(question, outlets)
    mentions = [SourceAsk(outlet, None, start, end) for start, end, outlet in named]
    for start, end, outlet in named:  # "both articles from X", "two X reports"; not "both X and Y"
        lead, tail = question[max(0, start - 40):start], question[end:end + 20]
        if PAIRED_BEFORE.search(lead) or (PAIRED_AROUND[0].search(lead) and PAIRED_AROUND[1].search(tail)):
            mentions.append(SourceAsk(outlet, None, start, end))
    for m in SAME_SOURCE.finditer(question):
        before = [x for x in named if x[0] < m.start()]
        if before:
            mentions.append(SourceAsk(before[-1][2], None, m.start(), m.end()))
    mentions.sort(key=lambda m: m.start)
    if mentions:
        mentions = _with_dates(mentions, time.ranges)
    removed = [(s, e) for s, e, _ in named] + _when(question)
    return Plan(tuple(mentions), time, bool(COMPARE.search(question)), _content(question, removed))


def _occurrences(question: str, outlets: Iterable[str]) -> list[tuple[int, int, str]]:
    """Each place an outlet is named; longer names win where names overlap ("The Age" over "Age")."""
    taken: list[tuple[int, int, str]] = []
    lower_question = question == question.lower()
    for outlet in sorted(outlets, key=len, reverse=True):
        for match in re.finditer(rf"(?<!\w){re.escape(outlet)}(?!\w)", question, re.I):
            if not (lower_question or _same_capitals(match.group(0), outlet)):
                continue  # "a fortune" is not Fortune
            if not any(match.start() < end and start < match.end() for start, end, _ in taken):
                taken.append((match.start(), match.end(), outlet))
    return sorted(taken)


def _same_capitals(written: str, outlet: str) -> bool:
    words = list(zip(written.split(), outlet.split(), strict=False))
    if words and words[0][1].casefold() == "the":
        words = words[1:]  # "the Valley Courier" names "The Valley Courier"
    return all(a[:1].isupper() == b[:1].isupper() for a, b in words)


def _with_dates(mentions: list[SourceAsk], ranges: tuple[DayRange, ...]) -> list[SourceAsk]:
    """Give each date to the mention it follows ("the TechCrunch report ... published on October 7"), or the
    first one when it comes before them all; a second date for one mention asks for another of its articles."""
    out = list(mentions)
    for days in ranges:
        before = [i for i, m in enumerate(out) if m.end <= days.start]
        target = max(before, key=lambda i: out[i].end) if before else min(range(len(out)), key=lambda i: out[i].start)
        near = out[target]
        if near.days is None:
            out[target] = SourceAsk(near.outlet, days, near.start, near.end)
        else:
            out.append(SourceAsk(near.outlet, days, days.start, days.end))
    return sorted(out, key=lambda m: m.start)


def _content(question: str, removed: list[tuple[int, int]]) -> str:
    """The question with the given spans and the words about reporting taken out."""
    kept = []
    last = 0
    for start, end in sorted(removed):
        if start >= last:
            kept.append(question[last:start])
            last = end
    kept.append(question[last:])
    words = " ".join(kept).split()
    return " ".join(w for w in words if w.strip("'\"?,.;:!()").casefold() not in META_WORDS | LINKING_WORDS)


@dataclass(frozen=True)
class Part:
    """One clause of a question that a single source should answer, with the source it names (if any)."""

    text: str
    mention: SourceAsk | None
    content: str = ""  # the clause without outlet names, dates and words about reporting: what it asks about


# Where one clause of a long question ends: commas, semicolons, "while", "whereas", "and" before a new verb.
CLAUSE_BREAK = re.compile(
    r"\s*(?:,(?!\d)|;)\s*(?:and\s+|while\s+|whereas\s+|but\s+)?|\s+(?:while|whereas|as well as)\s+|"
    r"\s+and\s+(?=(?:is|was|has|had|does|did|are|were|also|then)\b)", re.I)
MIN_PART_WORDS = 3  # content words a clause needs to stand alone; shorter ones join the next clause


def split_parts(question: str, plan: Plan, count: Callable[[str], int]) -> list[Part]:
    """The clauses of a question that names sources, one per source named in it (a clause naming none is one
    part). `count` gives a clause's number of content words; short clauses ("reported by TechCrunch") join
    the next one."""
    pieces: list[tuple[int, int]] = []
    last = 0
    dates = dates_in(question)
    for m in CLAUSE_BREAK.finditer(question):
        if any(d.start < m.start() < d.end for d in dates):
            continue  # "November 6, 2023" is one date
        if m.start() > last:
            pieces.append((last, m.start()))
        last = m.end()
    if last < len(question):
        pieces.append((last, len(question)))
    merged: list[tuple[int, int]] = []
    carry: int | None = None
    for start, end in pieces:
        start = carry if carry is not None else start
        if count(_content(question[start:end], _names_and_dates(question[start:end], plan, start))) < MIN_PART_WORDS:
            carry = start
            continue
        merged.append((start, end))
        carry = None
    if carry is not None:
        if merged:
            merged[-1] = (merged[-1][0], len(question))
        else:
            merged.append((carry, len(question)))
    parts: list[Part] = []
    for start, end in merged:
        inside = [m for m in plan.mentions if start <= m.start < end]
        whole = question[start:end].strip(" ,;?")
        whole_content = _content(question[start:end], _names_and_dates(question[start:end], plan, start))
        if not inside:
            parts.append(Part(whole, None, whole_content))
        for i, mention in enumerate(inside):  # several sources in one clause: each its own stretch of it
            own_start = start if i == 0 else mention.start
            own_end = inside[i + 1].start if i + 1 < len(inside) else end
            own = question[own_start:own_end]
            own_content = _content(own, _names_and_dates(own, plan, own_start))
            if count(own_content) >= MIN_PART_WORDS:
                parts.append(Part(own.strip(" ,;?"), mention, own_content))
            else:
                parts.append(Part(whole, mention, whole_content))
    return parts


def _spans_within(plan: Plan, start: int, end: int) -> list[tuple[int, int]]:
    return [(m.start - start, m.end - start) for m in plan.mentions if start <= m.start and m.end <= end]


def _names_and_dates(text: str, plan: Plan, start: int) -> list[tuple[int, int]]:
    """Where a clause names an outlet, a date or a time (words that say which source, not what it says)."""
    return _spans_within(plan, start, start + len(text)) + _when(text)


def _when(text: str) -> list[tuple[int, int]]:
    """Where a text writes a date or a time of day."""
    dates = dates_in(text)
    return [(r.start, r.end) for r in dates] + times_in(text, dates)
