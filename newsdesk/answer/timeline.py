"""Time in questions: "latest" and "what changed" wishes, and the dates or ranges a question names."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from newsdesk.models import day_number

T = TypeVar("T")

MONTHS = {name.casefold(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.casefold(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
# One alternative per way of writing a date; each names the same groups.
DATE_FORMS = [
    # 2023-12-12, or with its time: 2023-12-12T22:38:05+00:00 (the time is part of the date, not words to match)
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)"
               r"(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-][0-2]\d:?[0-5]\d)?)?(?![\d:])"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.I),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b", re.I),
    re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.I),
    re.compile(rf"\b(?:in|during|of|since|before|after|until|by)\s+{_YEAR}\b", re.I),
]
# A time of day ("published at 13:41:30", "at 3:05 pm"): says when, like a date, but narrows no day.
CLOCK = re.compile(r"\b[0-2]?\d:[0-5]\d(?::[0-5]\d)?(?:\s*[ap]\.?m\b\.?)?(?![\d:])", re.I)
LATEST = re.compile(
    r"\b(?:latest|most recent(?:ly)?|newest|now|currently|so far|as of|updated?|up to date|to date)\b", re.I)
CHANGE = re.compile(
    r"\b(?:what (?:has )?changed|(?:has|have|did|how did|how has|how have)\b.{0,80}\bchange[ds]?|"
    r"change[ds]? (?:in|since|from|between)|revis(?:e|ed|ion)|updat(?:e|ed) (?:figure|number|count|toll)|"
    r"evolv(?:e|ed)|since (?:the )?(?:first|earlier|initial))\b", re.I)
BEFORE = re.compile(r"\b(?:before|until|prior to|up to|by|as of)\s+(?:the\s+)?$", re.I)
AFTER = re.compile(r"\b(?:after|since|following|from)\s+(?:the\s+)?$", re.I)
# A date without a year is a date only where the question says when ("published on October 1st"); elsewhere it
# is more likely an event's name ("September 11").
WHEN = re.compile(r"\b(?:on|since|before|after|until|by|between|from|and|published|dated|as of)\s+(?:the\s+)?$", re.I)


@dataclass(frozen=True)
class DayRange:
    """Inclusive YYYYMMDD bounds; a year of 0 means the question gave no year (month and day still count)."""

    first: int
    last: int
    start: int = 0  # where the date is written in the question
    end: int = 0

    def contains(self, day: int | None) -> bool:
        if day is None:
            return False
        if self.first < 10000:  # no year: compare month and day only
            return self.first <= day % 10000 <= self.last
        return self.first <= day <= self.last


@dataclass(frozen=True)
class TimeAsk:
    """What a question says about time."""

    latest: bool = False  # "latest", "now", "so far", "as of", "updated": prefer the newest reporting
    change: bool = False  # "what changed": show the earliest and the latest reports
    ranges: tuple[DayRange, ...] = ()  # explicit dates or ranges: soft filters

    @property
    def ordered(self) -> bool:
        """Whether the answer should be read newest first."""
        return self.latest or self.change

    def fits(self, day: int | None) -> bool:
        """Whether a date falls within every range the question names (True when it names none)."""
        return all(r.contains(day) for r in self.ranges)


def read_time(question: str) -> TimeAsk:
    """The time wishes and date ranges of a question."""
    ranges = tuple(_ranges(question))
    return TimeAsk(latest=bool(LATEST.search(question)), change=bool(CHANGE.search(question)), ranges=ranges)


def dates_in(question: str) -> list[DayRange]:
    """Every date the question writes, as the days it covers, in the order written (overlaps dropped)."""
    found: list[DayRange] = []
    for form in DATE_FORMS:
        for m in form.finditer(question):
            if any(m.start() < r.end and r.start < m.end() for r in found):
                continue
            span = _span(m)
            if span is not None and span[0] < 10000 and not WHEN.search(question[max(0, m.start() - 20):m.start()]):
                continue
            if span is not None:
                found.append(DayRange(span[0], span[1], m.start(), m.end()))
    return sorted(found, key=lambda r: r.start)


def times_in(question: str, dates: list[DayRange]) -> list[tuple[int, int]]:
    """Where the question writes a time of day outside its `dates` (`dates_in(question)`; spans, in order)."""
    return [m.span() for m in CLOCK.finditer(question) if not any(d.start <= m.start() < d.end for d in dates)]


def _span(m: re.Match[str]) -> tuple[int, int] | None:
    groups = m.groupdict()
    year = int(groups.get("year") or 0)
    month_text = (groups.get("month") or "").casefold()
    if groups.get("month") == "may":  # the verb, not the month
        return None
    month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text, 0)
    day = int(groups["day"]) if groups.get("day") else 0
    if not month:
        return (year * 10000 + 101, year * 10000 + 1231) if year else None
    if not 1 <= month <= 12 or day > 31:
        return None
    if day:
        value = year * 10000 + month * 100 + day
        return value, value
    last = calendar.monthrange(year or 2000, month)[1]
    return year * 10000 + month * 100 + 1, year * 10000 + month * 100 + last


def _ranges(question: str) -> list[DayRange]:
    """Dates as ranges: "before X" ends at X, "after X" starts there, "between X and Y" spans both."""
    dates = dates_in(question)
    out: list[DayRange] = []
    i = 0
    while i < len(dates):
        d = dates[i]
        lead = question[max(0, d.start - 20):d.start]
        if re.search(r"\bbetween\s+(?:the\s+)?$", lead, re.I) and i + 1 < len(dates) and _same_era(d, dates[i + 1]):
            out.append(DayRange(d.first, dates[i + 1].last, d.start, dates[i + 1].end))
            i += 2
            continue
        if BEFORE.search(lead):
            out.append(DayRange(_floor(d.first), d.last, d.start, d.end))
        elif AFTER.search(lead):
            out.append(DayRange(d.first, _ceiling(d.last), d.start, d.end))
        else:
            out.append(d)
        i += 1
    return out


def _same_era(a: DayRange, b: DayRange) -> bool:
    return (a.first < 10000) == (b.first < 10000)


def _floor(day: int) -> int:
    return 101 if day < 10000 else 10000101


def _ceiling(day: int) -> int:
    return 1231 if day < 10000 else 99991231


def newest_first(items: Iterable[T], published_at: Callable[[T], str | None]) -> list[T]:
    """Items by publication date, newest first; undated items keep their order after every dated one."""
    listed = list(items)
    return sorted(listed, key=lambda item: -(day_number(published_at(item)) or 0))


def newest_day(days: Iterable[int | None]) -> int | None:
    """The latest of some dates; undated entries never count as newest."""
    return max((d for d in days if d is not None), default=None)
