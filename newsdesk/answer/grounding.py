"""Grounding: a generated sentence may state only the figures, names and negations of the sentences it cites."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from newsdesk.answer.quantities import Quantity, WrittenDate, dates, quantities, without_dates
from newsdesk.index.lexical import terms
from newsdesk.models import Citation, GroundingProblem

TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[^\W_][\w'’-]*|[.!?:;\"“(—–]")
BOUNDARY = frozenset('.!?:;"“(—–')
# A capitalised word that opens a sentence is usually an ordinary word; these are dropped from the front of a
# name there ("The Valley Courier", "In Seoul").
STARTERS = frozenset({
    "a", "an", "the", "in", "on", "at", "by", "for", "from", "to", "of", "with", "after", "before", "during",
    "since", "until", "according", "as", "but", "and", "or", "so", "yet", "also", "however", "meanwhile", "while",
    "when", "where", "if", "although", "though", "despite", "both", "all", "some", "many", "most", "no", "not",
    "none", "this", "that", "these", "those", "there", "it", "its", "they", "their", "he", "his", "she", "her",
    "we", "our", "i", "earlier", "later", "today", "yesterday", "separately", "officials", "authorities"
})
NEGATIONS = frozenset({
    "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without", "cannot", "deny",
    "denies", "denied", "denying", "refuse", "refuses", "refused", "refusing", "fail", "fails", "failed", "failing",
    "unable"
})
CLAUSE = re.compile(r"[,;:()—–]|\b(?:but|while|whereas|although|though|however)\b", re.I)
WORDS = re.compile(r"[^\W\d_][\w'’-]*")
DEMONYM_ENDINGS = ("n", "an", "ian", "ese", "i", "ish")
# Stems that carry no claim: function words the lexical index keeps, and reporting verbs.
NOT_CONTENT = frozenset({
    "were", "been", "be", "has", "have", "had", "would", "could", "should", "may", "might", "can", "must", "shall",
    "it", "his", "her", "them", "he", "she", "we", "you", "those", "here", "than", "also", "just", "veri", "more",
    "most", "some", "ani", "each", "everi", "all", "both", "other", "own", "same", "onli", "so", "too", "onto",
    "upon", "about", "abov", "below", "over", "under", "again", "further", "onc", "one", "accord", "told", "ad",
    "report",
})


@dataclass(frozen=True)
class Grounds:
    """What a statement may draw on: its cited sentences, with each source's outlet and date."""

    quantities: tuple[Quantity, ...]
    dates: tuple[WrittenDate, ...]
    words: frozenset[str]  # case-folded, without possessives
    acronyms: frozenset[str]  # as written ("NIS", "US" for "U.S."): they support a spelled-out name
    initials: frozenset[str]  # of multi-word names ("National Intelligence Service" -> "NIS"): they support an
    # acronym
    negated: tuple[tuple[str, frozenset[str]], ...]  # each cited clause that holds a negation, with its content words
    content: frozenset[str]  # stemmed content words of the cited sentences


def check(statement: str, cited: Sequence[Citation]) -> tuple[GroundingProblem, ...]:
    """Every way the statement goes beyond the sentences it cites; empty when it is grounded."""
    grounds = grounds_of(cited)
    return (*_dates(statement, grounds), *_numbers(statement, grounds), *_names(statement, grounds),
            *_negation(statement, grounds), *_unrelated(statement, grounds))


def grounds_of(cited: Sequence[Citation]) -> Grounds:
    """The grounds of the cited sources; an outlet's name and a publication date may be restated."""
    sentences = " ".join(c.sentence for c in cited)
    days = [day for c in cited if (day := _published(c)) is not None]
    about = " ".join([*(c.outlet or "" for c in cited), *(f"{d:%B} {d:%b}" for d in days)])
    return Grounds(
        # the publication year may be restated alone; its day and month only as a date
        quantities=tuple(quantities(f"{sentences} {' '.join(str(d.year) for d in days)}")),
        dates=(*dates(sentences), *(WrittenDate(d.isoformat(), d.year, d.month, d.day) for d in days)),
        words=frozenset(_norm(w) for w in WORDS.findall(f"{sentences} {about}")),
        acronyms=frozenset(_acronyms(f"{sentences} {about}")),
        initials=frozenset(i for run in _capitalised_runs(f"{sentences} {about}") for i in _all_initials(run)),
        negated=tuple((clause.strip(), _content(clause)) for c in cited for clause in _clauses(c.sentence)
                      if _is_negated(clause)),
        content=_content(sentences),
    )


def _published(source: Citation) -> date | None:
    try:
        return date.fromisoformat((source.published_at or "")[:10])
    except ValueError:
        return None


# -- dates --------------------------------------------------------------------------------------------------
def _dates(statement: str, grounds: Grounds) -> list[GroundingProblem]:
    return [GroundingProblem("date_not_in_source", f'the date "{d.text}" is neither in the cited sentences nor '
                             "their publication dates")
            for d in dates(statement) if not any(d.matches(known) for known in grounds.dates)]


# -- numbers ------------------------------------------------------------------------------------------------
def _numbers(statement: str, grounds: Grounds) -> list[GroundingProblem]:
    return [GroundingProblem("number_not_in_source", f'the figure "{q.text}" is not in the cited sentences')
            for q in quantities(without_dates(statement), lone_one=False)
            if not any(q.matches(source) for source in grounds.quantities)]


# -- names --------------------------------------------------------------------------------------------------
def _names(statement: str, grounds: Grounds) -> list[GroundingProblem]:
    return [GroundingProblem("name_not_in_source", f'the name "{_shown(run)}" is not in the cited sentences')
            for run in _checked_names(statement) if not _name_supported(run, grounds)]


def _shown(run: Sequence[str]) -> str:
    return re.sub(r"['’]s?$", "", " ".join(run))


def _checked_names(statement: str) -> list[tuple[str, ...]]:
    """Runs of capitalised words and acronyms; at a sentence's start only what is surely a name."""
    out = []
    for run, at_start in _runs_with_position(statement):
        if at_start and _norm(run[0]) in STARTERS:
            run = run[1:]
        elif at_start and len(run) == 1 and not (_is_acronym(run[0]) or _norm(run[0]) != run[0].casefold()):
            continue  # "Crews worked overnight": a lone first word is not known to be a name ("Ukraine's" is)
        if run and run != ("I",):
            out.append(run)
    return out


def _capitalised_runs(text: str) -> list[tuple[str, ...]]:
    return [run for run, _ in _runs_with_position(text)]


def _runs_with_position(text: str) -> list[tuple[tuple[str, ...], bool]]:
    runs: list[tuple[tuple[str, ...], bool]] = []
    run: list[str] = []
    at_start, run_at_start = True, True
    for token in [*TOKEN.findall(text), "."]:
        capital = token[0].isupper()
        if capital:
            if not run:
                run_at_start = at_start
            run.append(token)
        elif run:
            runs.append((tuple(run), run_at_start))
            run = []
        at_start = token in BOUNDARY
    return runs


def _name_supported(run: tuple[str, ...], grounds: Grounds) -> bool:
    if all(_word_supported(word, grounds) for word in run):
        return True
    return len(run) > 1 and _initials(run) in grounds.acronyms  # "National Intelligence Service" for "NIS"


def _word_supported(word: str, grounds: Grounds) -> bool:
    if _is_acronym(word):
        return word.replace(".", "") in grounds.acronyms | grounds.initials
    name = _norm(word)
    return name in grounds.words or any(_same_name(name, other) for other in grounds.words)


def _same_name(a: str, b: str) -> bool:
    """A plural ("Koreans" / "Korean") or a demonym ("Korean" / "Korea", "Ukrainian" / "Ukraine")."""
    a, b = _singular(a), _singular(b)
    return a == b or _demonym_of(a, b) or _demonym_of(b, a)


def _demonym_of(name: str, place: str) -> bool:
    if len(place) < 4 or not name.startswith(place[:3]):
        return False
    stems = [place, place[:-1]] if place[-1] in "aeoy" else [place]
    endings = (*DEMONYM_ENDINGS, "") if place.endswith("y") else DEMONYM_ENDINGS  # Germany / German
    return any(name == stem + ending for stem in stems for ending in endings if stem + ending != place)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _is_acronym(word: str) -> bool:
    letters = word.replace(".", "")
    return len(letters) > 1 and letters.isalpha() and letters.isupper()


def _acronyms(text: str) -> Iterable[str]:
    return (token.replace(".", "") for token in TOKEN.findall(text) if _is_acronym(token))


def _initials(run: Sequence[str]) -> str:
    return "".join(word[0].upper() for word in run)


def _all_initials(run: Sequence[str]) -> Iterable[str]:
    """The initials of every stretch of two or more words of a name: "South Korea's National Intelligence
    Service" gives "NIS" among others."""
    return (_initials(run[i:j]) for i in range(len(run)) for j in range(i + 2, len(run) + 1))


def _norm(word: str) -> str:
    word = word.casefold().replace("’", "'")
    return word[:-2] if word.endswith("'s") else word.rstrip("'")


# -- negation -----------------------------------------------------------------------------------------------
def _negation(statement: str, grounds: Grounds) -> list[GroundingProblem]:
    """A negation the statement adds (no cited clause denies what it denies), or drops (a cited clause denies
    what one of its clauses asserts)."""
    problems = []
    clauses = _clauses(statement)
    said = _content(statement)
    if any(_is_negated(c) for c in clauses) and not any(said & denied for _, denied in grounds.negated):
        problems.append(GroundingProblem("negation_added", "it negates what the cited sentences do not"))
    for text, denied in grounds.negated:
        if not denied:
            continue
        best = max(clauses, key=lambda c: len(_content(c) & denied))
        if 2 * len(_content(best) & denied) > len(denied) and not _is_negated(best):
            quoted = text.rstrip(".!?")
            problems.append(GroundingProblem("negation_dropped", f'it asserts what a cited sentence negates: "{quoted}"'))
            break
    return problems


def _clauses(sentence: str) -> list[str]:
    return [c for c in CLAUSE.split(sentence) if c and c.strip()] or [sentence]


def _is_negated(clause: str) -> bool:
    words = [w.casefold().replace("’", "'") for w in WORDS.findall(clause)]
    pairs = zip(words, [*words[1:], ""], strict=False)  # an empty clause has no pairs
    return any((w in NEGATIONS and not (w == "not" and after == "only")) or w.endswith("n't")
               or (w == "declined" and after == "to") for w, after in pairs)


def _content(text: str) -> frozenset[str]:
    """Stemmed content words, without negations and words that carry no claim."""
    words = " ".join(w for w in WORDS.findall(text) if w.casefold() not in NEGATIONS and "n't" not in w.casefold())
    return frozenset(t for t in terms(words) if t not in NOT_CONTENT and not t.isdigit())


# -- a claim from elsewhere ---------------------------------------------------------------------------------
def _unrelated(statement: str, grounds: Grounds) -> list[GroundingProblem]:
    """A statement that shares no content word with its cited sentences cannot be restating them."""
    said = _content(statement)
    if said and not said & grounds.content:
        return [GroundingProblem("unrelated_to_source", "it shares no word with the cited sentences")]
    return []
