"""Questions about time and sources: "latest", "what changed", dates as soft filters, named outlets; the newest
report first, an undated article never newest. The storm cases run through the CLI and /chat with the real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from newsdesk.answer.compose import newest_relevant
from newsdesk.answer.evidence import ScoredSentence
from newsdesk.answer.sources import plan_sources, split_parts
from newsdesk.answer.timeline import DayRange, dates_in, newest_first, read_time, times_in
from newsdesk.index.lexical import terms
from newsdesk.models import Article, Sentence, StoredSentence

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OUTLETS = ("Valley Courier", "Lakeshore Gazette", "Tri-County Wire", "The Verge", "TechCrunch", "Fortune", "The Age",
           "Sporting News", "Wired")


@pytest.mark.parametrize(("question", "latest", "change"), [
    ("What is the latest death toll?", True, False),
    ("How many have died so far?", True, False),
    ("What is the most recent figure?", True, False),
    ("How many homes are without power now?", True, False),
    ("What has changed since the first report?", False, True),
    ("Has the death toll changed between the reports?", False, True),
    ("How many people died?", False, False),
])
def test_time_words(question: str, latest: bool, change: bool) -> None:
    asked = read_time(question)
    assert (asked.latest, asked.change) == (latest, change)


@pytest.mark.parametrize(("question", "ranges"), [
    ("What did the council decide in March 2024?", [(20240301, 20240331)]),
    ("Who reported it on 2023-11-24?", [(20231124, 20231124)]),
    ("Who reported it at 2023-12-12T22:38:05+00:00?", [(20231212, 20231212)]),
    ("What happened before 5 March 2024?", [(10000101, 20240305)]),
    ("What happened after November 6, 2023?", [(20231106, 99991231)]),
    ("What happened between October 2, 2023 and October 7, 2023?", [(20231002, 20231007)]),
    ("What was published on October 1st?", [(1001, 1001)]),  # no year: month and day
    ("What did he say about September 11?", []),  # an event's name, not a date
    ("Why may 2 teams forfeit?", []),  # the verb
])
def test_dates_and_ranges(question: str, ranges: list[tuple[int, int]]) -> None:
    assert [(r.first, r.last) for r in read_time(question).ranges] == ranges


def test_a_date_without_a_year_matches_any_year() -> None:
    (day,) = dates_in("published on October 1st")
    assert day.contains(20231001) and day.contains(20241001) and not day.contains(20231002)
    assert not DayRange(20240301, 20240331).contains(None)


def test_mentions_count_each_outlet_named_with_its_date() -> None:
    plan = plan_sources("Between the report from 'The Verge' on 2023-11-24 and the report from 'Wired' on 2023-11-25, "
                        "is there consistency?", OUTLETS)
    assert [(m.outlet, m.days and m.days.first) for m in plan.mentions] == [("The Verge", 20231124),
                                                                            ("Wired", 20231125)]
    assert plan.multi and plan.compare


@pytest.mark.parametrize(("question", "outlets"), [
    ("Do both articles from Sporting News suggest that bettors have options?", ["Sporting News", "Sporting News"]),
    ("Which company, as reported by both TechCrunch and The Verge, spent billions?", ["TechCrunch", "The Verge"]),
    ("Does the Fortune article agree, while the same source says otherwise?", ["Fortune", "Fortune"]),
    ("He made a fortune, says the Valley Courier", ["Valley Courier"]),  # "a fortune" is not Fortune
    ("what did the valley courier report about the death toll?", ["Valley Courier"]),  # typed in lower case
])
def test_mentions(question: str, outlets: list[str]) -> None:
    assert [m.outlet for m in plan_sources(question, OUTLETS).mentions] == outlets


def test_a_second_date_beside_one_outlet_asks_for_another_of_its_articles() -> None:
    plan = plan_sources("After TechCrunch reported on October 31, 2023, about search deals, and again on December 15, "
                        "2023, about a lawsuit, was the coverage consistent?", OUTLETS)
    assert [(m.outlet, m.days and m.days.first) for m in plan.mentions] == [("TechCrunch", 20231031),
                                                                            ("TechCrunch", 20231215)]


def test_the_content_leaves_out_outlets_dates_and_words_about_reporting() -> None:
    plan = plan_sources("What did the Valley Courier report about the death toll on 2024-10-14?", OUTLETS)
    assert terms(plan.content) == ["death", "toll"]


def test_a_long_question_is_split_into_one_part_per_source() -> None:
    question = ("Does the article from Fortune claim that Alameda's practices were legal, while the article from "
                "The Verge suggests that Alameda had a negative balance exceeding FTX's revenue?")
    parts = split_parts(question, plan_sources(question, OUTLETS), lambda text: len(terms(text)))
    assert [p.mention.outlet if p.mention else None for p in parts] == ["Fortune", "The Verge"]
    assert "legal" in parts[0].text and "negative balance" in parts[1].text
    question = ("Which company, reported by TechCrunch, became the default search engine, and was sued by news "
                "publishers over revenue?")
    parts = split_parts(question, plan_sources(question, OUTLETS), lambda text: len(terms(text)))
    assert [p.mention.outlet if p.mention else None for p in parts] == ["TechCrunch", None]  # a short clause joins the next


def scored(article: Article, sentence: str, score: float) -> ScoredSentence:
    start = article.text.index(sentence)
    stored = StoredSentence(Sentence(article.id, 0, start, start + len(sentence), sentence), "v",
                            np.zeros(4, np.float32))
    return ScoredSentence(stored, score, 0.5)


def test_latest_puts_the_newest_relevant_article_first_and_an_undated_one_last() -> None:
    old = Article("old", "At least 12 people died when Storm Hadley hit.", outlet="Valley Courier",
                  published_at="2024-10-14")
    new = Article("new", "Storm Hadley killed 19 people, the state said.", outlet="Tri-County Wire",
                  published_at="2024-10-16")
    undated = Article("blog", "Neighbours say 25 people died in Storm Hadley.", outlet="Blog")
    unrelated = Article("bus", "Two people died when a bus crashed near Ashford.", outlet="Tri-County Wire",
                        published_at="2024-10-20")
    items = [scored(old, old.text, 12.0), scored(undated, undated.text, 11.0), scored(new, new.text, 6.0),
             scored(unrelated, unrelated.text, 5.0)]
    articles = {a.id: a for a in (old, new, undated, unrelated)}
    picked = newest_relevant(items, articles, read_time("What is the latest death toll?"), k=3)
    assert [p.stored.sentence.article_id for p in picked] == ["new", "old", "blog"]
    assert newest_first([undated, old, new], lambda a: a.published_at) == [new, old, undated]


# -- the storm, as a new user tried it: real model, through the CLI and /chat ----------------------------------

STORM_CASES = {
    # question: (outlets of the citations in order, the newest first where they differ; conflict expected)
    "What is the latest death toll?": (["Tri-County Wire", "Lakeshore Gazette", "Valley Courier"], True),
    "How many people died?": (["Tri-County Wire", "Valley Courier"], True),
    "Does the Valley Courier agree with the Lakeshore Gazette on the death toll?": (["Lakeshore Gazette", "Valley Courier"],
                                                                                   True),
    "What did the Valley Courier report about the death toll?": (["Valley Courier"], False),
    "What is the death toll?": (["Lakeshore Gazette", "Tri-County Wire"], False),
}


@pytest.fixture(scope="module")
def storm_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three storm articles (Markdown 12 dead 10-14, HTML 19 on 10-15, JSONL 19 on 10-16) in a real index."""
    store = tmp_path_factory.mktemp("storm") / "index"
    # sentence-transformers, as the asking tests use (clean_env hides any ONNX export): one model for the index
    result = CliRunner().invoke(_cli(), ["ingest", "--store", str(store), str(FIXTURES / "storm")],
                                env={"HF_HUB_OFFLINE": "1", "NEWSDESK_ONNX_DIR": str(store.parent / "no-export")},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return store


def _cli() -> Any:
    from newsdesk.cli import cli

    return cli


def ask_cli(store: Path, question: str) -> dict[str, Any]:
    result = CliRunner().invoke(_cli(), ["ask", "--json", "--store", str(store), question],
                                env={"HF_HUB_OFFLINE": "1"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def check(body: dict[str, Any], outlets: list[str], conflict: bool, texts: dict[str, str]) -> None:
    assert body["abstained"] is False, body["question"]
    cited = [c["outlet"] for c in body["citations"]]
    assert list(dict.fromkeys(cited))[: len(outlets)] == outlets, (body["question"], cited)
    assert bool(body.get("conflict")) is conflict, body["question"]
    for n, c in enumerate(body["citations"], start=1):  # verbatim at their offsets, numbered in order
        assert c["n"] == n and texts[c["outlet"]][c["start"]:c["end"]] == c["sentence"]
        assert f"{c['sentence']} [{n}]" in body["answer"]
    if conflict:
        days = [claim["published_at"] for claim in body["claims"][0]["claims"]]
        assert days == sorted(days, reverse=True)
        # reports of different days: a figure updated over time, the latest first
        assert body["claims"][0]["kind"] == "updated"
        assert body["conflict_note"].startswith("The figure was updated over time: the latest, ")


def check_offsets(store: Path, body: dict[str, Any]) -> None:
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    found = build_service(Settings(store=store), check_model=False).store.articles([c["article_id"] for c in body["citations"]])
    for c in body["citations"]:
        assert found[c["article_id"]][0].text[c["start"]:c["end"]] == c["sentence"]


def storm_texts(store: Path) -> dict[str, str]:
    from newsdesk.app import build_service
    from newsdesk.settings import Settings

    service = build_service(Settings(store=store), check_model=False)
    lexical = service.lexical_index()
    found = service.store.articles([h.article_id for h in lexical.search("storm hadley", 10, _no_filters())])
    return {article.outlet or "": article.text for article, _ in found.values()}


def _no_filters() -> Any:
    from newsdesk.models import Filters

    return Filters()


@pytest.mark.model
@pytest.mark.parametrize("question", list(STORM_CASES))
def test_the_storm_questions_through_the_cli(storm_store: Path, clean_env: pytest.MonkeyPatch, question: str) -> None:
    outlets, conflict = STORM_CASES[question]
    check(ask_cli(storm_store, question), outlets, conflict, storm_texts(storm_store))


@pytest.mark.model
def test_the_storm_questions_through_chat(storm_store: Path, clean_env: pytest.MonkeyPatch) -> None:
    import handler
    from tests.test_handler import load_event

    clean_env.setenv("NEWSDESK_STORE", str(storm_store))
    texts = storm_texts(storm_store)
    for question, (outlets, conflict) in STORM_CASES.items():
        event = load_event("chat_post")
        event["body"] = json.dumps({"question": question})
        response = handler.chat(event, None)
        assert response["statusCode"] == 200
        check(json.loads(response["body"]), outlets, conflict, texts)


@pytest.mark.model
def test_an_undated_article_never_wins_latest_and_a_correction_is_the_newest(
        storm_store: Path, clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = tmp_path / "index"
    shutil.copytree(storm_store, store)
    result = CliRunner().invoke(_cli(), ["ingest", "--store", str(store), str(FIXTURES / "storm_later")],
                                env={"HF_HUB_OFFLINE": "1"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    latest = ask_cli(store, "What is the latest death toll?")
    days = [c["published_at"] for c in latest["citations"]]
    assert (latest["citations"][0]["outlet"], days[0]) == ("Valley Courier", "2024-10-17")  # the correction
    assert days == sorted(days, key=lambda d: d or "", reverse=True)  # newest first, undated (if cited) last
    changed = ask_cli(store, "What has changed in the death toll?")
    assert changed["citations"][0]["published_at"] == "2024-10-17" and changed["conflict"] is True
    assert {"2024-10-17", "2024-10-14"} <= {c["published_at"] for c in changed["citations"]}  # latest and earliest
    died = ask_cli(store, "How many people died?")
    claims = died["claims"][0]["claims"]
    assert claims[0]["published_at"] == "2024-10-17" and all(c["published_at"] for c in claims[:-1])
    courier = ask_cli(store, "What did the Valley Courier report about the death toll?")
    assert {c["outlet"] for c in courier["citations"]} == {"Valley Courier"}
    assert courier["citations"][0]["published_at"] == "2024-10-17" and courier["conflict"] is True
    for body in (latest, changed, died, courier):
        check_offsets(store, body)


@pytest.mark.model
@pytest.mark.parametrize(("question", "outlets"), [
    ("How many people had died by October 14, 2024?", {"Valley Courier"}),
    ("What was the death toll on October 15?", {"Lakeshore Gazette"}),
    ("What was the death toll on October 20, 2024?", None),  # no article that day: a soft filter answers anyway
])
def test_dates_in_a_question_are_soft_filters(storm_store: Path, clean_env: pytest.MonkeyPatch, question: str,
                                              outlets: set[str] | None) -> None:
    body = ask_cli(storm_store, question)
    assert body["abstained"] is False and body["citations"]
    if outlets is not None:
        assert {c["outlet"] for c in body["citations"]} == outlets


def test_a_timestamp_or_a_time_of_day_says_when_not_what() -> None:
    question = ("Between the report from 'Wired' published at 2023-12-12T22:38:05+00:00 and the 'The Verge' "
                "article published at 13:41:30 on October 16, 2023, is the praise of the phone consistent?")
    (stamp, day) = dates_in(question)
    assert question[stamp.start:stamp.end] == "2023-12-12T22:38:05+00:00" and stamp.first == 20231212
    assert day.first == 20231016
    assert [question[a:b] for a, b in times_in(question, dates_in(question))] == ["13:41:30"]
    plan = plan_sources(question, OUTLETS)
    assert not any(ch.isdigit() for ch in plan.content)  # neither the clock nor the stamp is matched as words
    assert "praise" in plan.content and "consistent" not in plan.content  # a word about the reports, not the news
    parts = split_parts(question, plan, lambda text: len(terms(text)))
    assert all(not any(ch.isdigit() for ch in p.content) for p in parts)
