"""Answer types: what kind of answer a question asks for (a date, a number, a person, a place, a name) and
whether a sentence holds one that the question does not already give, with plain patterns."""

from __future__ import annotations

import re
from functools import lru_cache

MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|tonight"
DATE_WORDS = frozenset(f"{MONTHS}|{DAYS}|jan|feb|aug|sep|sept|oct|nov|dec".split("|"))
YEAR_OR_TIME = re.compile(r"\b(?:1[89]\d\d|20\d\d|\d+\s*(?:a\.m\.|p\.m\.|am|pm))\b")
NUMBER_WORDS = frozenset((
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "dozen",
    "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion", "billions", "half",
))
WORD = re.compile(r"\w+")
DIGIT = re.compile(r"\d")
# Capitalised words not at the start of a sentence; a name is a run of them ("Army Gen. David Petraeus").
CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
PERSON = re.compile(r"\b(?:[A-Z][a-z]+\.?\s+)+(?:[A-Z]\.\s+)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?")
PLACE = re.compile(r"\b(?:in|at|from|near|to|into|across|outside|inside)\s+(?:the\s+)?([A-Z][a-z]+)")

_PLACE_NOUNS = "country|city|state|town|region|province|county|island|nation|continent|area|place|village|capital"
_NAME_NOUNS = ("company|team|group|organization|organisation|newspaper|network|club|agency|party|band|school|"
               "university|airline|film|movie|show|book|song|album|brand|firm|magazine|channel|program|programme")
_NUMBER_NOUNS = ("size|number|amount|cost|price|toll|total|population|age|value|rate|score|salary|budget|fine|"
                 "percentage|percent|figure|count|height|weight|distance|sentence|bail|bill|reward")
ASKED = (  # the first pattern that matches names the kind
    ("date", re.compile(r"\b(?:when|what (?:year|date|day|month|time)|which (?:year|date|day|month)|how long ago)\b")),
    ("number", re.compile(rf"\b(?:how (?:many|much|old|long|far|big|tall|large|often)|what (?:percent|percentage|number|age)"
                          rf"|(?:what|which) (?:is|was|are|were) the (?:\w+ )?(?:{_NUMBER_NOUNS})\b"
                          rf"|what (?:prison |jail )?(?:sentence|fine|price|amount))\b")),
    ("place", re.compile(rf"\b(?:where|(?:what|which) (?:{_PLACE_NOUNS})|in what (?:{_PLACE_NOUNS}))\b")),
    ("person", re.compile(r"\b(?:who|whom|whose|what (?:is|was) (?:his|her|the) name|which (?:man|woman|person|player"
                          r"|actor|actress|singer|president|leader|official|officer|candidate|star))\b")),
    ("name", re.compile(rf"\b(?:what|which) (?:{_NAME_NOUNS})\b")),
)


_COUNT = r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an|several|dozens?|hundreds?|thousands?)"
MEASURES = (  # (measure, what asks for it, what gives it); the first that the question matches names the measure
    ("money", re.compile(r"how much (?:money|did|does|do|was|were|is|will|has|have|would|could)|what (?:is|was) the "
                         r"(?:cost|price|bail|reward|fine|salary|budget)|how much .*(?:cost|pay|paid|worth|spend|spent|raise)"),
     re.compile(r"\$|\b(?:dollars?|pounds?|euros?|yen|yuan|rupees?)\b|£|€")),
    ("age", re.compile(r"how old|what age|what (?:is|was) the age"),
     re.compile(r"\b\d{1,3}-year-old\b|\b\d{1,3} years? old\b|, \d{1,3} ,|\baged? \d{1,3}\b|\bin (?:his|her) (?:teens|\d0s)\b")),
    ("duration", re.compile(r"how long|for how (?:many|much) (?:years|months|days|weeks|hours|time)"
                            r"|how many (?:years|months|days|weeks|hours|minutes)"),
     re.compile(rf"\b{_COUNT}[ -](?:years?|months?|weeks?|days?|hours?|minutes?|decades?|seconds?)\b")),
    ("percent", re.compile(r"what percent|how many percent|what percentage|what share"),
     re.compile(r"%|\bpercent\b|\bper cent\b")),
    ("size", re.compile(r"how far|how tall|how high|how big|how large|how deep"),
     re.compile(rf"\b{_COUNT}[ -]?(?:miles?|kilometers?|km|meters?|metres?|feet|foot|ft|inches?|acres?|square|yards?"
                rf"|mph|kph|tons?|pounds?|kilograms?|kg)\b")),
)


def asked_measure(question: str) -> str | None:
    """The measure a quantity question asks for (money, age, duration, percent, size), or None: sharper than
    "number", for the sentence must give that measure ("$ 5 million", "24-year-old", "three years")."""
    q = question.casefold()
    return next((name for name, asks, _ in MEASURES if asks.search(q)), None)


@lru_cache(maxsize=100_000)
def gives_measure(measure: str, sentence: str) -> bool:
    """Whether the sentence gives that measure (cached per stored sentence)."""
    return next(pattern.search(sentence.casefold()) is not None for name, _, pattern in MEASURES if name == measure)


def asked_kind(question: str) -> str | None:
    """The kind of answer a question asks for, or None (most "what" questions)."""
    q = question.casefold()
    return next((kind for kind, pattern in ASKED if pattern.search(q)), None)


@lru_cache(maxsize=100_000)
def sentence_kind(kind: str, sentence: str) -> bool | frozenset[str]:
    """What the sentence gives of one kind: for a date or a number whether it has one, for a person, a place or a
    name its candidates (lower case). Cached per (kind, stored sentence), and only the kind a question asks for is
    computed: a question's new candidate sentences pass through here on its request path."""
    if kind == "date":
        lower = sentence.lower()
        return bool(set(WORD.findall(lower)) & DATE_WORDS) or (
            DIGIT.search(sentence) is not None and YEAR_OR_TIME.search(lower) is not None)
    if kind == "number":
        return DIGIT.search(sentence) is not None or bool(set(WORD.findall(sentence.lower())) & NUMBER_WORDS)
    if kind == "person":
        return frozenset(w.casefold() for m in PERSON.findall(sentence) for w in WORD.findall(m))
    if kind == "place":
        return frozenset(m.casefold() for m in PLACE.findall(sentence))
    return frozenset(m.casefold() for m in CAPITALISED.findall(sentence))


def gives(kind: str, sentence: str, asked: frozenset[str]) -> bool:
    """Whether the sentence holds an answer of this kind beyond the question's own words (`asked`, lower case)."""
    found = sentence_kind(kind, sentence)
    return found if isinstance(found, bool) else bool(found - asked)


@lru_cache(maxsize=1024)
def question_words(question: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in WORD.findall(question))


def clear_caches() -> None:
    sentence_kind.cache_clear()
    gives_measure.cache_clear()
