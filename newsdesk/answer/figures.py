"""Figures: the counted numbers a sentence gives, in digits or words, with what they count; and what a question asks
to count. Read by conflicts (reports that differ), the citation choice (figure answers) and "latest" answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from newsdesk.answer.measures import DEATH_WORDS, JOB_CUTS, JOB_UNITS, PEOPLE, PEOPLE_MEASURES, PERSONS

QUALIFIER = r"(?:(?:about|around|roughly|nearly|almost|approximately|some|over|under|at least|at most|more than|" \
            r"fewer than|less than|up to|an estimated|as many as)\s+)?"
# News style spells out one to nine and round counts ("Three people died", "the toll rose to seven", "a dozen").
UNITS_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
               "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
              "ninety": 90}
# "Dozens", "hundreds" and "thousands" are figures too, only vaguer: a report of "dozens injured" and a later one of
# 140 differ, so each stands for a nominal amount (two of its kind) that no exact count equals.
VAGUE_VALUES = {"dozens": 24.5, "hundreds": 200.5, "thousands": 2000.5}
WORD_VALUES = {**{w: i for i, w in enumerate(UNITS_WORDS)}, **TENS_WORDS, "a dozen": 12, "dozen": 12,
               "a hundred": 100, "one hundred": 100, "a thousand": 1000, **VAGUE_VALUES}
SPELLED = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|seven|"
           r"eight|nine))?|a dozen|a hundred|one hundred|a thousand|dozens|hundreds|thousands|"
           + "|".join(reversed(UNITS_WORDS)) + ")")
NUMBER = re.compile(
    rf"(?<![\w.,:/-]){QUALIFIER}(?:(?P<currency>[$€£]\s?)?(?P<digits>\d{{1,3}}(?:,\d{{3}})+|\d+)(?P<decimals>\.\d+)?"
    rf"|(?P<spelled>{SPELLED}))"
    r"(?P<percent>\s?%)?(?:\s+(?P<scale>thousand|million|billion|trillion|percent|per cent)\b)?(?![\w.,:/-]*\d)",
    re.I)
# A count said before its number: "killed five", "the toll rose to seven".
DEATHS_BEFORE = re.compile(r"\b(?:toll(?:\s+\S+){0,8}|(?:killed|kill|killing|claimed the lives of)(?:\s+\S+){0,1})\s*$")
KILLED_JUST_BEFORE = re.compile(r"\b(?:killed|kill|killing|claimed the lives of)\s*$")
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
    "under", "into", "out", "up", "down", "off", "p", "a.m", "p.m", "am", "pm", "percent", "remain", "remained",
    "remains", "still"
})
# "two more bodies", "four additional victims": a count added to a total, not a total to compare.
INCREMENT = frozenset({"more", "additional", "further", "extra"})
NEAR = 3  # words either side of a count that may say what happened
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


@lru_cache(maxsize=100_000)
def figure_units(sentence: str) -> frozenset[str]:
    """What a sentence's figures count, cached: figure answers test every evidence sentence of a warm process."""
    return frozenset(f.unit for f in figures(sentence))


def figures(sentence: str) -> list[Figure]:
    """The counted numbers of a sentence: years, times, dates and bare numbers are left out."""
    words = set(re.findall(r"[a-z]+", sentence.casefold()))
    deaths = bool(DEATH_WORDS & words)
    cuts = bool(JOB_CUTS & words)
    out = []
    for m in NUMBER.finditer(sentence):
        if m.group("spelled") and not _counts(m, sentence):
            continue
        before = sentence[max(0, m.start() - 12):m.start()].casefold().split()
        if before and before[-1].strip(".,") in MONTH_NAMES:
            continue  # "March 12"
        if _year(m):
            continue
        unit, end = _unit(sentence, m, deaths)
        if unit in JOB_UNITS and (cuts or unit in {"job", "layoff"}):
            unit = "jobs"
        if unit is None:
            continue
        value = sentence[m.start():end].strip()
        if m.start() == 0 and not value[:1].isdigit():  # "At least 12 people" opening the sentence
            value = value[:1].lower() + value[1:]
        out.append(Figure(value, _amount(m), unit))
    return out


def _amount(m: re.Match[str]) -> float:
    """A NUMBER match's value, its scale word applied ("$4.2 million" -> 4,200,000)."""
    return _bare_amount(m) * SCALE.get((m.group("scale") or "").casefold(), 1.0)


def _bare_amount(m: re.Match[str]) -> float:
    spelled = m.group("spelled")
    if spelled is None:
        return float(m.group("digits").replace(",", "") + (m.group("decimals") or ""))
    words = spelled.casefold().replace("-", " ")
    if words in WORD_VALUES:
        return float(WORD_VALUES[words])
    tens, _, unit = words.partition(" ")
    return float(TENS_WORDS[tens] + UNITS_WORDS.index(unit))


def _counts(m: re.Match[str], sentence: str) -> bool:
    """A spelled-out number is a figure when a counted word follows it or a count precedes it ("three people",
    "killed five"); "one of the", "no one" and "one day" are not."""
    word = m.group("spelled").casefold()
    follow = UNIT_WORD.match(sentence, m.end())
    following = follow.group("word").casefold() if follow else ""
    if word == "one" and following in {"of", "day", "another", "time", "way", "side", "point"}:
        return False
    if word == "one" and re.search(r"\b(?:no|any|every|some)\s*$", sentence[:m.start()].casefold()):
        return False  # "no one was hurt"
    if word in VAGUE_VALUES and following == "of":  # "dozens of homes"
        return True
    lead = sentence[max(0, m.start() - 80):m.start()].casefold()
    return (bool(following and following not in NOT_UNITS) or bool(DEATHS_BEFORE.search(lead))
            or _measure_before(sentence, m.start()) is not None
            or bool(following) and _measure_after(sentence, m.end()) is not None)


def _year(m: re.Match[str]) -> bool:
    digits = m.group("digits")
    if digits is None:
        return False
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
    vague = (m.group("spelled") or "").casefold() in VAGUE_VALUES
    for step in range(3 if vague else 2):
        follow = UNIT_WORD.match(sentence, end)
        if not follow:
            break
        word, end = follow.group("word").casefold(), follow.end()
        if step == 0 and word in INCREMENT:
            return None, end
        if word not in FILLER and not (vague and word == "of"):
            break
    before = _measure_before(sentence, m.start())
    if word is None or word in NOT_UNITS or word in FILLER:
        lead = sentence[max(0, m.start() - 80):m.start()].casefold()
        if DEATHS_BEFORE.search(lead) or re.search(r"\btoll\b", lead):
            return "deaths", m.end()
        # "killed 15"; "Forty were hurt" (a word follows the count: "Hobbs, 37, was found dead" counts nothing)
        return before or (_measure_after(sentence, m.end()) if word is not None else None), m.end()
    own = _measure_of(word)  # "15 dead and 40 injured"
    if own is not None:
        return own, end
    if KILLED_JUST_BEFORE.search(sentence[:m.start()].casefold()):
        return "deaths", end
    if before is not None:
        return before, end
    if word in PERSONS:
        after = _measure_after(sentence, end)
        if after is not None:
            return after, end
        if word in PEOPLE and deaths:
            return "deaths", end
    return ("people" if word in PEOPLE else _singular(word)), end  # "1,200 residents", "2,000 people": one unit


def _measure_of(word: str) -> str | None:
    return next((name for name, vocabulary in PEOPLE_MEASURES.items() if word in vocabulary), None)


def _measure_before(sentence: str, start: int) -> str | None:
    """The measure a word just before a count names ("arrested three men", "the number of arrests to four")."""
    lead = re.split(r"\d", sentence[max(0, start - 60):start].casefold())[-1]  # not past an earlier count
    words = re.findall(r"[a-z]+", lead)[-NEAR:]
    return next((found for found in map(_measure_of, reversed(words)) if found), None)


def _measure_after(sentence: str, end: int) -> str | None:
    """The measure a word just after a count of people names ("140 people were injured", "three people died")."""
    words = re.findall(r"[a-z]+", sentence[end:end + 60].casefold())[:NEAR]
    return next((found for found in map(_measure_of, words) if found), None)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def asked_units(question: str) -> frozenset[str]:
    """The units of the figures a question asks for: "deaths" for a toll, the counted noun of "how many X",
    "$" for money, "%" for a share, land units for a size."""
    q = question.casefold()
    words = set(re.findall(r"[a-z]+", q))
    counting = re.search(r"\bhow many\b|\bnumber of\b|\btoll\b|\bfigures?\b|\bcount\b", q) is not None
    measure = next((name for name, vocabulary in PEOPLE_MEASURES.items() if words & vocabulary), None)
    if measure is not None and counting:  # "How many died?", not "Where was she found dead?"
        return frozenset({measure})
    if words & {"job", "jobs", "layoff", "layoffs"} or (words & JOB_UNITS and words & JOB_CUTS):
        return frozenset({"jobs"})
    if re.search(r"how much (?:money|did|does|was|were|is|will|has|have)|\b(?:cost|price|budget|spend|spent)\b", q):
        return frozenset({"$"})
    if re.search(r"\b(?:percent|percentage|per cent|share|contained|containment)\b", q):
        return frozenset({"%"})
    if re.search(r"\b(?:size|how big|how large|area)\b", q):
        return frozenset({"acre", "hectare", "mile", "kilometer", "square"})
    counted = re.search(r"how many (?:more |other |additional )?([a-z-]+)", q)
    if counted:
        unit = _singular(counted.group(1))
        return frozenset({"people"} if counted.group(1) in PEOPLE else {unit})
    return frozenset()


def amount_of(value: str) -> float | None:
    """The amount a claim's words give ("at least 12 people" -> 12), or None."""
    m = NUMBER.search(value)
    return _amount(m) if m else None
