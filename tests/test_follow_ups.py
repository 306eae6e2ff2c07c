"""Follow-ups fill in only what they leave out: the question stage's resolution, without a model."""

from __future__ import annotations

import pytest

from newsdesk.answer.question import resolve, stands_alone
from newsdesk.models import Query

ACRES = "How many acres has the Cedar Ridge Fire burned?"
STORM = "How many homes lost power in the storm?"


def resolved(question: str, *history: str) -> tuple[str, str | None]:
    r = resolve(Query(question, context=history), question)
    return r.search_text, r.shown


@pytest.mark.parametrize(("question", "history"), [
    ("Where were the captured soldiers taken?", (ACRES,)),  # its own subject, no pointing back
    ("How many North Korean soldiers have died?", ("Who won the 2022 World Cup final?",)),  # after an abstention
    ("When will the Old Mill Bridge reopen?", (STORM,)),
    ("How much did the library renovation cost?", (STORM,)),
    ("What did Zelensky offer?", (ACRES, STORM)),
])
def test_a_question_with_its_own_subject_is_searched_alone(question: str, history: tuple[str, ...]) -> None:
    assert resolved(question, *history) == (question, None)


def test_a_continuation_takes_the_earlier_names_only() -> None:
    text, shown = resolved("And how many residents were evacuated?", ACRES)
    assert text == "And how many residents were evacuated? Cedar Ridge Fire"  # not "acres ... burned" again
    assert shown == "And how many residents were evacuated? (Cedar Ridge Fire)"


def test_a_pronoun_takes_the_earlier_content_words_when_it_named_nothing() -> None:
    text, shown = resolved("When was it restored?", STORM)
    assert text == "When was it restored? lost power storm" and shown is not None  # not the count asked before


def test_a_chain_of_follow_ups_keeps_its_subject_and_a_new_subject_resets_it() -> None:
    assert resolved("And the injured?", ACRES, "And how many residents were evacuated?")[1] == \
        "And the injured? (Cedar Ridge Fire)"
    assert resolved("When was it restored?", ACRES, STORM)[0].endswith("lost power storm")


def test_what_stands_alone() -> None:
    assert not stands_alone("And how many were injured?") and not stands_alone("What about Kyiv?")
    assert stands_alone("What did the Valley Courier report?") and not stands_alone("Why?")
    assert not stands_alone("When did they return?")
    assert resolved("Why?") == ("Why?", None)  # nothing earlier to take from


def test_what_about_a_new_name_keeps_what_was_asked_and_swaps_the_subject() -> None:
    text, shown = resolved("What about the Pine Hollow fire?", ACRES)
    assert text == "What about the Pine Hollow fire? acres burned"  # not the Cedar Ridge Fire again
    assert shown == "What about the Pine Hollow fire? (acres burned)"
    # without a name of its own, "what about" still takes the earlier subject
    assert resolved("What about the other one?", ACRES)[1] == "What about the other one? (Cedar Ridge Fire)"


def test_a_nameless_subject_leaves_out_what_the_earlier_question_asked_for() -> None:
    text, _ = resolved("When were they stolen?", "How many people were arrested over the museum theft?")
    assert text == "When were they stolen? museum theft"


def test_a_name_carries_the_word_it_qualifies_and_the_names_themselves() -> None:
    quake = "How many people died in the Marenza earthquake?"
    r = resolve(Query("When did it happen?", context=(quake,)), "When did it happen?")
    assert (r.carried, r.names) == ("Marenza earthquake", ("Marenza",))
    # not a verb, nor a counted or asked word
    assert resolved("And the injured?", "How many acres has the Cedar Ridge Fire burned?")[1] == \
        "And the injured? (Cedar Ridge Fire)"
    assert resolved("Who runs it?", "How many jobs will Northwind Air cut?")[1] == "Who runs it? (Northwind Air)"
    # a new subject keeps no names from before
    assert resolve(Query("What about Velan?", context=(quake,)), "What about Velan?").names == ()


def test_a_possessive_name_is_the_name() -> None:
    from newsdesk.answer.question import names

    assert names("Who is Northwind's chief executive?") == ["Northwind"]
    assert names("What did the Valley Courier’s reporter see?") == ["Valley Courier"]
