"""The question stage: check what was asked, and resolve it against the conversation into the text searched for."""

from __future__ import annotations

from dataclasses import dataclass

from newsdesk.errors import BadRequest
from newsdesk.models import Query


@dataclass(frozen=True)
class QuestionLimits:
    """What a request may ask: the longest question and the most citations."""

    max_question_chars: int
    max_k: int


@dataclass(frozen=True)
class Resolved:
    """A question as the pipeline answers it: the user's words and the text searched for."""

    question: str  # the question, whitespace squashed: what the answer is about
    search_text: str  # what retrieval and scoring read


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
    """The text to search for: the earlier questions of the conversation, then this one."""
    return Resolved(question, " ".join((*query.context, question)))
