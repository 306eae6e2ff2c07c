"""Conflicting figures across articles: found in the cited sentences, grouped, newest first, shown at every front door."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from newsdesk.answer.conflicts import arrange, conflict_note, find_conflicts, resolve
from newsdesk.answer.figures import asked_units, figures
from newsdesk.api.slack_format import answer_blocks, answer_text
from newsdesk.models import Answer, Citation, ClaimGroup

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STORM = FIXTURES / "storm"


def cite(n: int, article_id: str, sentence: str, outlet: str | None, published_at: str | None) -> Citation:
    return Citation(n, article_id, f"title {article_id}", None, outlet, published_at, sentence, 0, len(sentence), 1.0)


MD = cite(1, "vc", "At least 12 people died when Storm Hadley brought flash floods to the lower valley on Sunday night.",
          "Valley Courier", "2024-10-14")
HTML = cite(2, "lg", "The death toll from Storm Hadley rose to 19 on Tuesday after search teams found seven more bodies.",
            "Lakeshore Gazette", "2024-10-15")
JSONL = cite(3, "tc", "Storm Hadley killed 19 people, the state emergency agency confirmed on Wednesday.",
             "Tri-County Wire", "2024-10-16")


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Tuesday's storm cut power to 9,500 homes, North Coast Electric said.", [("9,500 homes", 9500.0, "home")]),
    ("At least 12 people died in the floods.", [("at least 12 people", 12.0, "deaths")]),
    ("The death toll rose to 19 on Tuesday.", [("19", 19.0, "deaths")]),
    ("The repairs are estimated at $4.2 million.", [("$4.2 million", 4.2e6, "$")]),
    ("Turnout was up 6 percent on last year.", [("6 percent", 6.0, "%")]),
    ("In 2023 the council met on March 12 at 6:15 p.m. on Route 9.", []),  # a year, a date, a time
    ("The 1962 bridge carries about 8,000 vehicles a day.", [("about 8,000 vehicles", 8000.0, "vehicle")]),
])
def test_figures_are_what_a_sentence_counts(sentence: str, expected: list[tuple[str, float, str]]) -> None:
    found = figures(sentence)
    assert [(f.value, f.amount, f.unit) for f in found] == expected
    for f in found:  # verbatim, except a capital opening the sentence
        assert f.value in sentence or f.value[:1].upper() + f.value[1:] in sentence


def test_differing_figures_from_different_articles_are_grouped_newest_first() -> None:
    groups = find_conflicts([MD, HTML, JSONL])
    assert len(groups) == 1 and groups[0].about == "deaths"
    assert [(c.n, c.value, c.outlet) for c in groups[0].claims] == [
        (3, "19 people", "Tri-County Wire"), (2, "19", "Lakeshore Gazette"), (1, "at least 12 people", "Valley Courier")]


def test_agreeing_figures_one_article_and_different_events_are_no_conflict() -> None:
    assert find_conflicts([HTML, JSONL]) == ()  # both say 19
    second = cite(2, "vc", "Rescue crews pulled 40 people from rooftops after the flash floods of Storm Hadley.",
                  "Valley Courier", "2024-10-14")
    assert find_conflicts([MD, second]) == ()  # one article's figures count different things
    other_event = cite(2, "bus", "Three people died when a bus left the coast road near Ashford.", "Tri-County Wire",
                       "2024-10-20")
    assert find_conflicts([MD, other_event]) == ()


def test_an_undated_claim_is_never_the_newest() -> None:
    undated = cite(3, "blog", "Neighbours say at least 25 people died in the Storm Hadley floods.", "Millbrook Blog", None)
    claims = find_conflicts([undated, MD, HTML])[0].claims
    assert [c.article_id for c in claims] == ["lg", "vc", "blog"]
    assert "(undated)" in (conflict_note(find_conflicts([undated, MD])) or "")


def test_conflicting_citations_are_renumbered_newest_first_and_the_rest_keep_their_place() -> None:
    filler = cite(2, "vc", "Most of the victims were caught in cars near the river crossing.", "Valley Courier",
                  "2024-10-14")
    md, html = MD, cite(3, "lg", HTML.sentence, HTML.outlet, HTML.published_at)
    arranged, groups = arrange([md, filler, html], find_conflicts([md, filler, html]))
    assert [c.article_id for c in arranged] == ["lg", "vc", "vc"] and [c.n for c in arranged] == [1, 2, 3]
    assert arranged[1].sentence == filler.sentence
    assert [c.n for c in groups[0].claims] == [1, 3]


def test_the_note_uses_only_the_cited_words_and_the_metadata() -> None:
    citations, groups, note = resolve([MD, HTML])
    assert note == ("The figure was updated over time: the latest, Lakeshore Gazette reported 19 on 2024-10-15 [1]; "
                    "earlier, Valley Courier reported at least 12 people on 2024-10-14 [2].")
    by_n = {c.n: c for c in citations}
    for claim in groups[0].claims:
        assert claim.value.casefold() in by_n[claim.n].sentence.casefold()
        assert (claim.outlet, claim.published_at) == (by_n[claim.n].outlet, by_n[claim.n].published_at)


def test_reports_of_one_day_that_differ_are_a_disagreement_not_an_update() -> None:
    same_day = cite(2, "lg", HTML.sentence, "Lakeshore Gazette", "2024-10-14")
    citations, groups, note = resolve([MD, same_day])
    assert groups[0].kind == "differ" and note is not None and note.startswith("The reports differ, newest first: ")
    undated = cite(2, "lg", HTML.sentence, "Lakeshore Gazette", None)
    assert find_conflicts([MD, undated])[0].kind == "differ"  # an undated report is never the newest


def test_figures_written_in_words_are_figures_of_their_measure() -> None:
    found = [(f.amount, f.unit) for s in ("Three people died when a wall collapsed.", "The toll rose to seven.",
                                          "Gunmen killed five villagers.", "Seven dead after the crash.",
                                          "Twenty-three people were injured.", "The fire destroyed a dozen homes.")
             for f in figures(s)]
    assert found == [(3, "deaths"), (7, "deaths"), (5, "deaths"), (7, "deaths"), (23, "injured"), (12, "home")]
    assert figures("One of the officers said no one was hurt on one day.") == []


@pytest.mark.parametrize(("sentence", "expected"), [
    # what happened to the people counted, said before or after the count
    ("Police arrested three men on Sunday.", [("three men", "arrests")]),
    ("A fourth man was held, bringing the number of arrests to four.", [("four", "arrests")]),
    ("Two men were detained at the border.", [("two men", "arrests")]),
    ("Officials said 140 people were injured, 23 of them seriously.", [("140 people", "injured"), ("23", "injured")]),
    ("The quake killed at least 12 people and injured dozens.", [("at least 12 people", "deaths"), ("dozens", "injured")]),
    ("Five people remain missing after the flood.", [("five people", "missing")]),
    ("The death toll climbed to 19 on Monday, the provincial governor said.", [("19", "deaths")]),
    ("The crash left 15 dead and 40 injured.", [("15 dead", "deaths"), ("40 injured", "injured")]),
    ("At least 30 were injured and 12 died.", [("at least 30", "injured"), ("12 died", "deaths")]),
    ("Forty were hurt, officials said.", [("forty", "injured")]),
    ("Three remain missing after the landslide.", [("three", "missing")]),
    # a count added to a total is not a total
    ("Rescuers found two more bodies, raising the toll to 21.", [("21", "deaths")]),
    ("Officials said no one was hurt.", []),
    # job cuts however counted; a cut that is not of jobs is not
    ("Northwind Air will cut 1,200 jobs.", [("1,200 jobs", "jobs")]),
    ("The airline would lay off about 1,500 workers.", [("about 1,500 workers", "jobs")]),
    ("About 2,000 workers went on strike.", [("about 2,000 workers", "worker")]),
    ("The storm cut power to 9,500 homes.", [("9,500 homes", "home")]),
    # vague counts are figures of their own
    ("Hundreds of homes were damaged.", [("hundreds of homes", "home")]),
])
def test_one_measure_across_phrasings(sentence: str, expected: list[tuple[str, str]]) -> None:
    assert [(f.value, f.unit) for f in figures(sentence)] == expected


@pytest.mark.parametrize(("question", "unit"), [
    ("How many were injured?", "injured"), ("How many people were arrested over the theft?", "arrests"),
    ("How many are still missing?", "missing"), ("How many jobs will Northwind Air cut?", "jobs"),
    ("How many workers will the airline lay off?", "jobs"), ("What is the death toll?", "deaths"),
])
def test_the_measure_a_question_asks_for(question: str, unit: str) -> None:
    assert asked_units(question) == frozenset({unit})


def test_a_revised_count_of_arrests_is_an_update_and_dozens_is_not_140() -> None:
    three = cite(1, "m1", "Police arrested three men on Sunday over the Halden Museum theft.", "Metro Post", "2025-01-20")
    four = cite(2, "m2", "A fourth man was arrested over the Halden Museum theft, bringing the number of arrests to "
                "four.", "Metro Post", "2025-01-22")
    [group] = find_conflicts([four, three], question="How many people were arrested?")
    assert group.about == "arrests" and group.kind == "updated" and [c.value for c in group.claims] == ["four", "three men"]
    dozens = cite(1, "q1", "The Marenza earthquake killed 12 people and injured dozens.", "Coastal Times", "2025-03-02")
    exact = cite(2, "q2", "In Marenza, 140 people were injured in the earthquake.", "Coastal Times", "2025-03-03")
    [group] = find_conflicts([dozens, exact], question="How many were injured?")
    assert [c.value for c in group.claims] == ["140 people", "dozens"]


def test_the_note_is_about_the_measure_asked() -> None:
    acres = cite(1, "a", "The fire has burned 11,350 acres and three people died, officials said.", "State Wire",
                 "2024-08-05")
    later = cite(2, "b", "The fire has burned 12,100 acres, and the toll rose to seven, officials said.", "Mountain Times",
                 "2024-08-09")
    assert {g.about for g in find_conflicts([acres, later])} == {"acre", "deaths"}
    assert [g.about for g in find_conflicts([acres, later], question="How many people died in the fire?")] == ["deaths"]
    assert [g.about for g in find_conflicts([acres, later], question="How many acres has it burned?")] == ["acre"]
    assert find_conflicts([acres, later], question="How many homes burned?") == ()


def test_no_conflict_leaves_citations_alone() -> None:
    assert resolve([HTML, JSONL]) == ([HTML, JSONL], (), None)


def conflicted_answer() -> Answer:
    citations, groups, note = resolve([MD, HTML])
    return Answer("How many people died?", " ".join(f"{c.sentence} [{c.n}]" for c in citations), False,
                  tuple(citations), conflict=True, conflict_note=note, claims=groups)


def test_the_json_marks_a_conflict_and_groups_its_claims() -> None:
    body = conflicted_answer().to_dict()
    assert body["conflict"] is True and body["conflict_note"].startswith("The figure was updated over time:")
    assert body["claims"] == [{"about": "deaths", "kind": "updated", "claims": [
        {"n": 1, "value": "19", "article_id": "lg", "outlet": "Lakeshore Gazette", "published_at": "2024-10-15"},
        {"n": 2, "value": "at least 12 people", "article_id": "vc", "outlet": "Valley Courier",
         "published_at": "2024-10-14"}]}]
    plain = Answer("q", "text [1]", False, (HTML,)).to_dict()
    assert not {"conflict", "conflict_note", "claims"} & set(plain)  # new keys only when there is a conflict
    json.dumps(body)


def test_slack_shows_the_note_between_the_answer_and_the_sources() -> None:
    answer = conflicted_answer()
    texts = [b["text"]["text"] for b in answer_blocks(answer) if b["type"] == "section"]
    assert texts[1].startswith(":warning: The figure was updated over time:")
    assert "Valley Courier reported at least 12 people on 2024-10-14 [2]" in answer_text(answer)


def test_claim_groups_hold_claims_in_order() -> None:
    group = find_conflicts([MD, HTML])[0]
    assert isinstance(group, ClaimGroup) and [c.published_at for c in group.claims] == ["2024-10-15", "2024-10-14"]


def run_cli(clean_env: pytest.MonkeyPatch, store: Path, *args: str) -> Any:
    from click.testing import CliRunner

    from newsdesk.cli import cli

    env = {"NEWSDESK_STORE": str(store), "NEWSDESK_EMBEDDER": "hash", "NEWSDESK_ABSTAIN_THRESHOLD": "0"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_plain_ask_prints_the_note_under_the_answer(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run_cli(clean_env, store, "ingest", str(STORM)).exit_code == 0
    question = "Does the Valley Courier agree with the Lakeshore Gazette on the death toll?"
    result = run_cli(clean_env, store, "ask", "-k", "3", question)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert lines[1].startswith("The figure was updated over time: the latest, Lakeshore Gazette reported 19")
    as_json = json.loads(run_cli(clean_env, store, "ask", "--json", "How many people died in Storm Hadley?").stdout)
    assert as_json["conflict"] is True and as_json["claims"][0]["about"] == "deaths"


class ConflictWriter:
    """A scripted generator that writes the conflict sentence the system prompt asks for, from the sources shown."""

    name = "bedrock"

    def generate(self, question: str, sources: Any) -> Any:
        from newsdesk.ports import Draft

        newest = next(s for s in sources if "19" in s.sentence)
        oldest = next(s for s in sources if "12 people" in s.sentence)
        return Draft(f"{newest.outlet} put the toll at 19 on {newest.published_at} [S{newest.n}]; on "
                     f"{oldest.published_at} the {oldest.outlet} reported 12 [S{oldest.n}].", 10, 10)


def test_a_generated_answer_carries_the_claims_of_its_verified_citations(fake_service: Any) -> None:
    from newsdesk.ingest.load import load_paths

    from newsdesk.models import Query

    assert fake_service.ingest(load_paths([str(STORM)])).failed == 0
    fake_service.pipeline.generators = {"bedrock": ConflictWriter()}
    answer = fake_service.ask(Query("How many people died in Storm Hadley?", answerer="bedrock"))
    assert answer.answerer == "bedrock" and answer.conflict and not answer.abstained
    assert [c.n for c in answer.citations] == [1, 2] and "[1][2]" in answer.text  # the prose keeps its numbers
    found = fake_service.store.articles([c.article_id for c in answer.citations])
    for c in answer.citations:
        assert found[c.article_id][0].text[c.start:c.end] == c.sentence
    assert {claim.value for claim in answer.claims[0].claims} >= {"at least 12 people"}
