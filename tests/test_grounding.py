"""Grounding: a generated sentence keeps the figures, names and negations of the sentences it cites, or is dropped."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from newsdesk.answer.generative import removed_note, strip_markers, verify
from newsdesk.answer.grounding import check
from newsdesk.models import Article, Citation, Query
from newsdesk.ports import Draft
from newsdesk.service import Service
from tests.conftest import ROOT

KURSK = ("South Korea's National Intelligence Service said about 300 North Korean soldiers had died and about 2,700 "
         "were wounded fighting for Russia in the Kursk region.")
DENIAL = "Pyongyang has not confirmed that its troops are in Russia, and the Kremlin declined to comment."
WRITTEN_SET = ROOT / "tests" / "fixtures" / "grounding_replies.json"


def source(sentence: str, n: int = 1, outlet: str = "Harbour Times", published_at: str = "2024-12-19") -> Citation:
    return Citation(n, f"a{n}", None, None, outlet, published_at, sentence, 0, len(sentence), 1.0)


def reasons(statement: str, *sentences: str) -> list[str]:
    return [p.reason for p in check(statement, [source(s, i + 1) for i, s in enumerate(sentences)])]


def test_the_issues_example_is_dropped_for_its_figure() -> None:
    wrong = "South Korea's intelligence agency reported that 3,000 North Korean soldiers had died."
    [problem] = check(wrong, [source(KURSK)])
    assert (problem.reason, problem.detail) == ("number_not_in_source", 'the figure "3,000" is not in the cited sentences')
    assert reasons("South Korea's intelligence agency reported that about 300 North Korean soldiers had died.", KURSK) == []


@pytest.mark.parametrize(("statement", "cited", "expected"), [
    ("About 2,700 were wounded.", "About 2,700 were wounded.", []),
    ("About 3,000 were wounded.", "About 300 were wounded.", ["number_not_in_source"]),
    ("The fund holds 2.7 million dollars.", "The fund holds $2,700,000.", []),  # same value at another scale
    ("The fund holds $2.7 billion.", "The fund holds $2.7 million.", ["number_not_in_source"]),
    ("The fund holds 2.7 million euros.", "The fund holds $2.7 million.", ["number_not_in_source"]),  # currency
    ("Police said 300 were hurt.", "Police said 300 people were hurt.", []),  # a count may drop its noun
    ("Prices rose 12 percent.", "Prices rose 12%.", []),
    ("Prices rose 21%.", "Prices rose 12%.", ["number_not_in_source"]),
    ("The road is 300 miles long.", "The road is 300 km long.", ["number_not_in_source"]),  # unit changed
    ("Ten thousand homes lost power.", "Power was cut to 10,000 homes.", []),
    ("Three firefighters were hurt.", "Two firefighters were hurt.", ["number_not_in_source"]),
])
def test_numbers_keep_their_value_scale_and_unit(statement: str, cited: str, expected: list[str]) -> None:
    assert reasons(statement, cited) == expected


@pytest.mark.parametrize(("statement", "expected"), [
    ("The NIS said about 300 North Korean soldiers had died.", []),  # acronym of a name the source spells out
    ("About 300 North Koreans died in Kursk, Seoul's spy agency said.", ["name_not_in_source"]),  # Seoul: not said
    ("About 300 North Korean soldiers died in Russia's Kursk region.", []),  # demonym, possessive
    ("Ukraine's army said about 300 North Korean soldiers had died.", ["name_not_in_source"]),  # at the start too
    ("The Harbour Times reported on December 19 that about 300 North Korean soldiers had died.", []),  # outlet, date
    ("On December 18, about 300 North Korean soldiers had died.", ["date_not_in_source"]),
    ("The Pentagon said about 300 North Korean soldiers had died.", ["name_not_in_source"]),
])
def test_names_and_dates_come_from_the_cited_sentence_or_its_outlet_and_date(statement: str,
                                                                              expected: list[str]) -> None:
    assert reasons(statement, KURSK) == expected


@pytest.mark.parametrize(("statement", "expected"), [
    ("Pyongyang has not confirmed that its troops are in Russia.", []),
    ("Pyongyang confirmed that its troops are in Russia.", ["negation_dropped"]),
    ("The Kremlin declined to comment.", []),
    ("The Kremlin has not commented, and Pyongyang has not confirmed it sent troops.", []),
])
def test_a_negation_of_the_source_may_not_be_dropped(statement: str, expected: list[str]) -> None:
    assert reasons(statement, DENIAL) == expected


def test_a_negation_may_not_be_added() -> None:
    assert reasons("The NIS said no North Korean soldiers had died.", KURSK) == ["negation_added"]
    assert reasons("The NIS did not say that 300 soldiers had died.", KURSK) == ["negation_added"]


def test_a_claim_from_another_source_is_dropped() -> None:
    assert reasons("The Kremlin declined to comment.", KURSK) == ["name_not_in_source", "negation_added",
                                                                  "unrelated_to_source"]
    assert reasons("Volunteers handed out blankets.", KURSK) == ["unrelated_to_source"]
    assert reasons("About 300 soldiers had died, and the Kremlin declined to comment.", KURSK, DENIAL) == []


def test_verify_removes_the_ungrounded_sentence_with_its_reasons() -> None:
    article = Article("a1", KURSK, outlet="Harbour Times", published_at="2024-12-19")
    reply = ("South Korea's intelligence agency reported that 3,000 North Korean soldiers had died [S1]. "
             "About 2,700 were wounded, the agency said [S1].")
    checked = verify(reply, [source(KURSK)], {"a1": article})
    assert checked.text == "About 2,700 were wounded, the agency said. [1]"
    [removed] = checked.removed
    assert removed.statement == "South Korea's intelligence agency reported that 3,000 North Korean soldiers had died."
    assert [p.reason for p in removed.problems] == ["number_not_in_source"]
    assert checked.unsupported == (removed.statement,)


class Scripted:
    name = "bedrock"

    def __init__(self, script: Callable[[dict[str, Citation]], str]) -> None:
        self.script = script

    def generate(self, question: str, sources: list[Citation]) -> Draft:
        return Draft(self.script({s.sentence: s for s in sources}), 100, 20)


def test_when_every_sentence_is_dropped_the_answer_quotes_the_sources_and_says_so(loaded_fake_service: Service) -> None:
    def script(sources: dict[str, Citation]) -> str:
        label = next(f"S{s.n}" for text, s in sources.items() if "9,500 homes" in text)
        return f"Power was cut to 95,000 homes [{label}]."

    loaded_fake_service.pipeline.generators = {"bedrock": Scripted(script)}
    answer = loaded_fake_service.ask(Query("How many homes lost power in the storm?", answerer="bedrock"))
    assert answer.answerer == "extractive" and answer.fallback == "unsupported_reply" and answer.citations
    assert answer.text.endswith(" " + removed_note(1, quoted=True)) and "95,000" not in answer.text
    [dropped] = answer.to_dict()["dropped_statements"]  # type: ignore[misc]
    assert dropped == {"statement": "Power was cut to 95,000 homes.", "reasons": [
        {"reason": "number_not_in_source", "detail": 'the figure "95,000" is not in the cited sentences'}]}


def test_the_note_counts_what_was_left_out() -> None:
    assert removed_note(1) == "(1 generated statement was left out because the sources do not support it.)"
    assert removed_note(2, quoted=True) == ("(2 generated statements were left out because the sources do not "
                                            "support them; the answer quotes the sources instead.)")


# -- the written set (bench/grounding_check.py prints the same figures) ----------------------------------------
def written_set_results() -> list[tuple[str, str, bool, bool]]:
    """(statement, kind, supported, removed) for every statement of the written replies."""
    data = json.loads(WRITTEN_SET.read_text())
    sources = [source(s["sentence"], int(label[1:]), s["outlet"], s["published_at"]) for label, s in data["sources"].items()]
    articles = {c.article_id: Article(c.article_id, c.sentence, outlet=c.outlet, published_at=c.published_at)
                for c in sources}
    out = []
    for reply in data["replies"]:
        removed = set(verify(" ".join(s["text"] for s in reply["statements"]), sources, articles).unsupported)
        out += [(strip_markers(s["text"]), s["kind"], s["supported"], strip_markers(s["text"]) in removed)
                for s in reply["statements"]]
    return out


def test_the_written_set_keeps_its_measured_precision_and_recall() -> None:
    results = written_set_results()
    assert len(results) >= 60
    caught = sum(1 for _, _, supported, removed in results if removed and not supported)
    precision = caught / sum(1 for r in results if r[3])
    recall = caught / sum(1 for r in results if not r[2])
    assert precision >= 0.95 and recall >= 0.83, (precision, recall)
    # Changed figures, units and scales, added negations and misattributed outlets are always caught.
    assert all(removed for _, kind, supported, removed in results
               if not supported and kind in {"number", "unit", "scale", "negation_added", "outlet"})
    assert not [text for text, kind, supported, removed in results if supported and removed and kind == "exact"]
