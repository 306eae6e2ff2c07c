"""The question stage: check what was asked, and resolve it against the conversation into the text searched for."""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsdesk.answer.measures import measure_words
from newsdesk.errors import BadRequest
from newsdesk.index.lexical import terms
from newsdesk.models import Query

# A question that opens like these continues the one before ("And how many were injured?", "What about Kyiv?").
CONTINUES = re.compile(r"^\W*(?:and|also|but|so|then|what about|how about|same for|as for)\b", re.I)
# A continuation that swaps in a new subject ("What about Kyiv?"): it keeps what the earlier turn asked, not its names.
SWAPS = re.compile(r"^\W*(?:and\s+)?(?:what about|how about|same for|as for)\b", re.I)
# Words that stand for something said before.
REFERS_BACK = re.compile(
    r"\b(?:it|its|it's|they|them|their|theirs|this|that|these|those|he|him|his|she|her|hers|there|then|"
    r"the other(?: one)?|the same|the latter|the former)\b", re.I)
NAME = re.compile(r"\b(?:[A-Z][\w'’.-]*|\d{4})(?:\s+(?:of\s+|the\s+|de\s+)?(?:[A-Z][\w'’.-]*|\d{4}))*")
# Capitalised only because they open the question (or are "I"): never a name.
OPENERS = frozenset({"a", "an", "and", "also", "as", "but", "so", "then", "what", "which", "who", "whom", "whose",
    "when", "where", "why", "how", "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would",
    "should", "has", "have", "had", "i", "in", "on", "at", "for", "of", "the", "what's", "who's"})


MEASURE_WORDS = measure_words()
FUNCTION_WORDS = frozenset({"has", "have", "had", "been", "were", "was", "being", "over", "after", "during", "from",
                            "into", "since", "under", "across", "near"})


@dataclass(frozen=True)
class QuestionLimits:
    """What a request may ask: the longest question and the most citations."""

    max_question_chars: int
    max_k: int


@dataclass(frozen=True)
class Resolved:
    """A question as the pipeline answers it: the user's words, the text searched for, and what an earlier turn
    filled in (None when the question stands alone)."""

    question: str  # the question, whitespace squashed: what the answer is about
    search_text: str  # what retrieval and scoring read
    carried: str | None = None  # what the conversation supplied, shown to the user as the question's meaning
    names: tuple[str, ...] = ()  # the names it carried: the evidence keeps to articles that name one, if any do

    @property
    def shown(self) -> str | None:
        """The question as it was taken, for a follow-up: "And how many were evacuated? (Cedar Ridge Fire)"."""
        return f"{self.question} ({self.carried})" if self.carried else None


def check_question(query: Query, limits: QuestionLimits) -> str:
    """The question with its whitespace squashed; a question that cannot be answered as sent is a BadRequest."""
    question = " ".join(query.question.split())
    if not question:
        raise BadRequest("the question is empty: send a question about the news")
    for text in (question, *query.context):  # a lone surrogate (bad \ud800 escape) breaks the tokenizer
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest(f"the question contains an unpaired surrogate at character {exc.start}: "
                             "send valid Unicode text") from None
    if not any(ch.isalnum() for ch in question):  # ".", "\u200b", "...": nothing to search for
        raise BadRequest("the question has no words: ask about the news in words, for example "
                         "'How many homes lost power in the storm?'")
    if len(question) > limits.max_question_chars:
        raise BadRequest(f"the question is longer than {limits.max_question_chars} characters: shorten it")
    if not 1 <= query.k <= limits.max_k:
        raise BadRequest(f"k must be between 1 and {limits.max_k}")
    if sum(len(c) for c in query.context) > 4 * limits.max_question_chars:
        raise BadRequest("the conversation context is too long: start a new thread")
    return question


def resolve(query: Query, question: str) -> Resolved:
    """The question with what it refers back to filled in from the conversation (`query.context`, oldest first).

    A question with its own subject is searched alone, whatever came before; a follow-up ("And how many were
    evacuated?", "When was it restored?", "What about the other bridge?") is searched with the subject of the turn
    it continues: that turn's names and dates, or, when it named none, its content words. Earlier follow-ups are
    resolved the same way first, so a chain of them keeps its subject.
    """
    subject: str | None = None
    asked: str | None = None  # what the turn being continued asked about its subject
    named: tuple[str, ...] = ()
    for earlier in query.context:
        earlier = " ".join(earlier.split())
        if earlier and (stands_alone(earlier) or subject is None):
            subject, asked, named = _subject(earlier), _predicate(earlier), tuple(dict.fromkeys(names(earlier)))
    if subject is None or stands_alone(question):
        return Resolved(question, question)
    if SWAPS.search(question) and names(question) and asked:  # "What about Velan?": a new subject, the same ask
        return Resolved(question, f"{question} {asked}", asked)
    return Resolved(question, f"{question} {subject}", subject, named)


def stands_alone(question: str) -> bool:
    """Whether a question carries its own subject: it names something, or asks about two or more things without
    opening as a continuation or pointing back with a pronoun."""
    if CONTINUES.search(question):
        return False
    if names(question):
        return True
    return not REFERS_BACK.search(question) and len(terms(question)) >= 2


def names(text: str) -> list[str]:
    """Capitalised word runs and years that are not just the question's opening word."""
    found = []
    for match in NAME.finditer(text):
        words = match.group().split()
        while words and words[0].casefold().strip("'’") in OPENERS:
            words.pop(0)
        if words:
            found.append(re.sub(r"['’]s$", "", " ".join(words)).rstrip(".'’"))  # "Northwind's" names Northwind
    return found


def _predicate(question: str) -> str:
    """What a question asks about its names ("How many acres has the Cedar Ridge Fire burned?" -> "acres burned"):
    its content words outside the names, for a follow-up that names a new subject."""
    named = {w.casefold() for name in names(question) for w in name.split()}
    return " ".join(w for w in re.findall(r"[\w'’-]+", question) if w.casefold() not in named | OPENERS and terms(w))


def _with_noun(question: str, name: str) -> str:
    """A name with the lower-case noun that follows it, when one does ("Marenza earthquake"; not "Cedar Ridge Fire
    burned", nor a counted or asked word)."""
    follow = re.search(rf"{re.escape(name)}\s+([a-z][\w-]*)", question)
    word = follow.group(1) if follow else ""
    if not word or not terms(word) or word in MEASURE_WORDS | FUNCTION_WORDS or word.endswith(("ed", "ing")):
        return name
    return f"{name} {word}"


def _subject(question: str) -> str:
    """What a question is about, to fill in a follow-up: its names and dates, else its content words less what it
    asks for ("How many people were arrested over the museum theft?" -> "museum theft": a follow-up asks
    something else about the theft)."""
    named = names(question)
    if named:  # with the word a name qualifies: "the Marenza earthquake", "the Halden Museum theft"
        return ", ".join(dict.fromkeys(_with_noun(question, name) for name in named))
    counted = re.search(r"\bhow many\s+([\w-]+)", question, re.I)
    asking = MEASURE_WORDS | FUNCTION_WORDS | ({counted.group(1).casefold()} if counted else set())
    words = [w for w in re.findall(r"[\w'’-]+", question) if terms(w)]
    return " ".join([w for w in words if w.casefold() not in asking] or words)
