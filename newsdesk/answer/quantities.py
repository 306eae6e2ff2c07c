"""Quantities and dates as written in a sentence: a number's value after its scale, kind and unit; a date's day."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from newsdesk.answer.figures import SCALE, TENS_WORDS, UNITS_WORDS
from newsdesk.answer.timeline import DATE_FORMS, MONTHS

DIGITS = re.compile(
    r"(?<![\w.,])(?P<sign>US\$|[$€£¥])?\s?(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?P<decimals>\.\d+)?"
    r"(?P<attached>bn|mn|tn|k|m|b|st|nd|rd|th|s)?(?!\w)"
    r"(?:\s?(?P<percent>%|percent\b|per\s+cent\b))?"
    r"(?:[\s-](?P<scale>thousand|million|billion|trillion)\b)?"
    r"(?:[\s-](?P<word>[A-Za-z]+(?:/h)?))?",
    re.I)
WORD = re.compile(r"[A-Za-z]+")
SCALES = {**SCALE, "k": 1e3, "mn": 1e6, "bn": 1e9, "b": 1e9, "tn": 1e12}
CURRENCY_SIGNS = {"us$": "$", "$": "$", "€": "€", "£": "£", "¥": "¥"}
CURRENCY_WORDS = {"dollar": "$", "dollars": "$", "euro": "€", "euros": "€", "yen": "¥"}
# Measurement units a statement must keep: "300 km" is not "300 miles". Words like "people" are not units here,
# so "300" and "300 people" are the same figure.
UNITS = {
    **dict.fromkeys(("km", "kilometre", "kilometres", "kilometer", "kilometers"), "km"),
    **dict.fromkeys(("mile", "miles"), "mile"), **dict.fromkeys(("metre", "metres", "meter", "meters"), "m"),
    **dict.fromkeys(("ft", "foot", "feet"), "ft"), **dict.fromkeys(("cm", "centimetres", "centimeters"), "cm"),
    **dict.fromkeys(("mm", "millimetres", "millimeters"), "mm"), **dict.fromkeys(("inch", "inches"), "in"),
    **dict.fromkeys(("kg", "kilogram", "kilograms"), "kg"), **dict.fromkeys(("tonne", "tonnes", "ton", "tons"), "t"),
    **dict.fromkeys(("litre", "litres", "liter", "liters"), "l"), **dict.fromkeys(("gallon", "gallons"), "gal"),
    **dict.fromkeys(("degree", "degrees"), "deg"), **dict.fromkeys(("hour", "hours"), "hour"),
    **dict.fromkeys(("minute", "minutes"), "minute"), **dict.fromkeys(("second", "seconds"), "second"),
    **dict.fromkeys(("day", "days"), "day"), **dict.fromkeys(("week", "weeks"), "week"),
    **dict.fromkeys(("month", "months"), "month"), **dict.fromkeys(("year", "years"), "year"),
    **dict.fromkeys(("acre", "acres"), "acre"), **dict.fromkeys(("hectare", "hectares"), "ha"),
    "mph": "mph", "km/h": "km/h",
}
SMALL = {w: i for i, w in enumerate(UNITS_WORDS)} | TENS_WORDS | {"dozen": 12}  # the number words figures.py reads
MULTIPLIERS = {"hundred": 100.0, **SCALE}


@dataclass(frozen=True)
class Quantity:
    """A number as a sentence writes it: "2.7 million" and "2,700,000" have the same value."""

    text: str
    value: float
    kind: str = ""  # "%", or a currency sign
    unit: str = ""  # a measurement unit in one canonical form ("km", "day"), or ""

    def matches(self, other: Quantity) -> bool:
        """Whether `other` (from a source) states this figure: same value, and the same kind and unit if this
        one gives them (a statement may leave a source's unit out, never change or add one)."""
        return (math.isclose(self.value, other.value, rel_tol=1e-9)
                and (not self.kind or self.kind == other.kind) and (not self.unit or self.unit == other.unit))


@dataclass(frozen=True)
class WrittenDate:
    """A day a sentence names ("2025-02-11", "February 11", "11 Feb 2025"); year 0 when it gives none."""

    text: str
    year: int
    month: int
    day: int

    def matches(self, other: WrittenDate) -> bool:
        return (self.month, self.day) == (other.month, other.day) and self.year in (0, other.year or self.year)


def dates(text: str) -> list[WrittenDate]:
    """Every full day the text names (ISO, "Month D", "D Month", each with an optional year)."""
    found = []
    for form in DATE_FORMS[:3]:
        for m in form.finditer(text):
            month = m.group("month")
            number = int(month) if month.isdigit() else MONTHS[month.casefold()]
            found.append(WrittenDate(m.group(0), int(m.group("year") or 0), number, int(m.group("day"))))
    return found


def without_dates(text: str) -> str:
    """The text with its dates blanked out, so their day and year are not read as figures."""
    for form in DATE_FORMS[:3]:
        text = form.sub(lambda m: " " * len(m.group(0)), text)
    return text


def quantities(text: str, lone_one: bool = True) -> list[Quantity]:
    """Every number in the text, in digits or words. `lone_one=False` skips a lone "one" ("one of them",
    "no one"), which a statement uses as a pronoun far more often than as a figure."""
    found = [_from_digits(m) for m in DIGITS.finditer(text)]
    taken = [m.span() for m in DIGITS.finditer(text)]
    found += [q for q in _from_words(text, taken) if lone_one or q.text.casefold() != "one"]
    return found


def _from_digits(m: re.Match[str]) -> Quantity:
    value = float(m.group("digits").replace(",", "") + (m.group("decimals") or ""))
    sign = CURRENCY_SIGNS.get((m.group("sign") or "").casefold(), "")
    attached = (m.group("attached") or "").casefold()
    unit = ""
    if attached == "m":  # "$2.7m" is millions; "5m" alone is metres
        value, unit = (value * 1e6, "") if sign else (value, "m")
    else:
        value *= SCALES.get(attached, 1.0)
    value *= SCALES.get((m.group("scale") or "").casefold(), 1.0)
    word = (m.group("word") or "").casefold()
    kind = "%" if m.group("percent") else sign or CURRENCY_WORDS.get(word, "")
    unit = unit or UNITS.get(word, "")
    named = word in UNITS or word in CURRENCY_WORDS
    end = m.end() if named else max(m.end(g) for g in ("digits", "decimals", "attached", "percent", "scale"))
    return Quantity(m.string[m.start():end].strip(), value, kind, unit)


def _from_words(text: str, taken: list[tuple[int, int]]) -> Iterator[Quantity]:
    """Runs of number words ("ten thousand", "twenty-five", "two hundred and fifty"), outside digit spans."""
    run: list[re.Match[str]] = []
    for m in WORD.finditer(text):
        word = m.group(0).casefold()
        number = word in SMALL or word in MULTIPLIERS
        if number and not any(a <= m.start() < b for a, b in taken):
            if run and not _joined(text, run[-1], m.start()):
                yield _word_quantity(text, run)
                run = []
            run.append(m)
        elif run and not (word == "and" and run[-1].group(0).casefold() in MULTIPLIERS):
            yield _word_quantity(text, run)
            run = []
    if run:
        yield _word_quantity(text, run)


def _joined(text: str, previous: re.Match[str], start: int) -> bool:
    """Whether the next number word continues the run: a space or hyphen apart, or "and" after "hundred"."""
    gap = text[previous.end():start]
    after_multiplier = previous.group(0).casefold() in MULTIPLIERS
    return re.fullmatch(r"[\s-]*(?:and\s+)?" if after_multiplier else r"[\s-]*", gap, re.I) is not None


def _word_quantity(text: str, run: list[re.Match[str]]) -> Quantity:
    total, current = 0.0, 0.0
    for m in run:
        word = m.group(0).casefold()
        if word in SMALL:
            current += SMALL[word]
        elif word == "hundred":
            current = max(current, 1.0) * 100
        else:
            total += max(current, 1.0) * MULTIPLIERS[word]
            current = 0.0
    return Quantity(text[run[0].start():run[-1].end()], total + current)
