"""Answers at the shipped settings: the shipped encoder (its ONNX export when made), the shipped weights and
thresholds, over a small newsroom written for these tests (tests/fixtures/newsroom) plus the samples.

Each question checks what a reader sees: the sentence cited for an on-topic question, an abstention for an
off-topic or unanswerable one, follow-ups that take only their subject from the conversation, and figures written
in words compared as figures. One index is built for the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from newsdesk.ingest.load import load_paths

from newsdesk.app import build_service
from newsdesk.cli import cli
from newsdesk.models import Answer, Query
from newsdesk.service import Service
from newsdesk.settings import Settings
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.model
NEWSROOM = Path(__file__).resolve().parent / "fixtures" / "newsroom" / "articles.jsonl"
ACRES = "How many acres has the Cedar Ridge Fire burned?"
STORM = "How many homes lost power in the storm?"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shipped") / "index"
    report = build_service(Settings.from_env({}, store=path)).ingest(load_paths([str(EXAMPLES), str(NEWSROOM)]))
    assert report.failed == 0 and report.added == 20, report.errors
    return path


@pytest.fixture(scope="module")
def service(store: Path) -> Iterator[Service]:
    yield build_service(Settings.from_env({}, store=store))  # every default: model, weights, thresholds


def ask(service: Service, question: str, *history: str) -> Answer:
    return service.ask(Query(question, context=history))


def first(answer: Answer) -> str:
    assert not answer.abstained, answer.text
    return answer.citations[0].sentence


@pytest.mark.parametrize(("question", "expected"), [
    ("Where were the captured soldiers taken?", "were taken to Kyiv"),
    ("What did Zelensky offer?", "Zelensky offered to hand the two soldiers over"),
    ("What caused the fire?", "The cause of the fire is under investigation"),
    ("How much did the library renovation cost?", "The project cost $6.8 million"),
    ("How many North Korean soldiers have died?", "about 300 North Korean soldiers had died"),
    ("When will the Old Mill Bridge reopen?", "could reopen to cars by early summer"),
])
def test_on_topic_questions_cite_the_sentence_that_answers(service: Service, question: str, expected: str) -> None:
    answer = ask(service, question)
    assert expected in " ".join(c.sentence for c in answer.citations[:2]), [c.sentence for c in answer.citations]


@pytest.mark.parametrize("question", [
    "Who won the 2022 World Cup final?",  # off topic
    "What is the capital of Australia?",  # off topic
    "Who is the incident commander of the Cedar Ridge Fire?",  # on topic, not reported
])
def test_questions_the_reporting_does_not_answer_are_declined(service: Service, question: str) -> None:
    assert ask(service, question).abstained


def test_a_figure_question_cites_the_newest_report_and_says_the_figure_was_updated(service: Service) -> None:
    answer = ask(service, ACRES)
    sentences = [c.sentence for c in answer.citations]
    assert any("12,100 acres" in s for s in sentences)  # the newest report (9 August) is always quoted
    assert answer.conflict_note is not None and answer.conflict_note.startswith("The figure was updated over time")
    assert "the latest, Mountain Times reported 12,100 acres on 2024-08-09" in answer.conflict_note
    assert answer.claims[0].kind == "updated" and answer.claims[0].about == "acre"


def test_deaths_written_in_words_are_compared_as_figures(service: Service) -> None:
    answer = ask(service, "How many people died in the Cedar Ridge Fire?")
    assert answer.conflict_note is not None, [c.sentence for c in answer.citations]
    assert answer.claims[0].about == "deaths"
    assert "Valley Courier reported seven on 2024-08-06" in answer.conflict_note
    assert "State Wire reported three people on 2024-08-05" in answer.conflict_note
    assert "acres" not in answer.conflict_note  # the note is about what was asked


# -- follow-ups ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "history", "expected"), [
    # a new topic is answered as if asked alone
    ("How much did the library renovation cost?", (STORM,), "The project cost $6.8 million"),
    ("Where were the captured soldiers taken?", (ACRES,), "were taken to Kyiv"),
    ("When will the Old Mill Bridge reopen?", (STORM,), "could reopen to cars by early summer"),
    # after an abstention
    ("How many North Korean soldiers have died?", ("Who won the 2022 World Cup final?",),
     "about 300 North Korean soldiers had died"),
    # after a conflict answer, a follow-up that points back
    ("And how many residents were evacuated?", (ACRES,), "residents"),
])
def test_follow_up_matrix(service: Service, question: str, history: tuple[str, ...], expected: str) -> None:
    alone_or_not = ask(service, question, *history)
    assert expected in " ".join(c.sentence for c in alone_or_not.citations[:2]), [
        c.sentence for c in alone_or_not.citations]
    if not history or question[0:4] != "And ":
        assert alone_or_not.resolved_question is None
        assert [c.sentence for c in alone_or_not.citations] == [c.sentence for c in ask(service, question).citations]
    else:
        assert alone_or_not.resolved_question == f"{question} (Cedar Ridge Fire)"
        top = first(alone_or_not).casefold()  # about evacuations, not the previous question's acreage answer again
        assert "evacuat" in top or "residents" in top


def test_a_pronoun_follow_up_takes_the_earlier_subject(service: Service) -> None:
    answer = ask(service, "When was it restored?", STORM)
    assert answer.resolved_question is not None and "storm" in answer.resolved_question
    assert any("reconnected" in c.sentence or "power" in c.sentence for c in answer.citations)


def test_follow_ups_over_http(service: Service) -> None:
    from newsdesk.api.http import handle_chat
    from tests.test_web_api import BASE

    def chat(body: dict[str, Any]) -> dict[str, Any]:
        event = json.loads(json.dumps(BASE))
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/chat"
        event["requestContext"]["http"]["method"] = "POST"
        event["body"] = json.dumps(body)
        response = handle_chat(event, lambda: service, "*")
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])

    follow = chat({"question": "And how many residents were evacuated?", "history": [ACRES]})
    assert follow["resolved_question"] == "And how many residents were evacuated? (Cedar Ridge Fire)"
    assert any("residents" in c["sentence"] for c in follow["citations"][:2])
    new_topic = chat({"question": "How much did the library renovation cost?", "history": [STORM]})
    assert "resolved_question" not in new_topic and "$6.8 million" in new_topic["citations"][0]["sentence"]


def test_follow_ups_in_the_cli(store: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("NEWSDESK_ONNX_DIR")  # the store was made with the default embedder, export included
    runner = CliRunner()
    env = {"NEWSDESK_STORE": str(store)}
    asked = runner.invoke(cli, ["ask", "--history", ACRES, "And how many residents were evacuated?"], env=env,
                          catch_exceptions=False)
    assert asked.exit_code == 0, asked.output
    assert "(taken as: And how many residents were evacuated? (Cedar Ridge Fire))" in asked.output
    session = runner.invoke(cli, ["chat"], env=env, catch_exceptions=False,
                            input=f"{STORM}\nHow much did the library renovation cost?\nWhen was it restored?\n\n")
    assert session.exit_code == 0, session.output
    assert "$6.8 million" in session.output and "taken as: When was it restored?" in session.output


def test_a_latest_figure_question_is_answered_by_the_newest_report_first(service: Service) -> None:
    # "latest" and "figure" say what form the answer takes: no report need use those words
    answer = ask(service, "What is the latest figure for the Cedar Ridge Fire's size?")
    assert "12,100 acres" in first(answer)
    assert answer.citations[0].published_at is not None and answer.citations[0].published_at.startswith("2024-08-09")


def test_a_figure_answer_quotes_only_sentences_that_give_the_figure(service: Service) -> None:
    answer = ask(service, "How many people died in the Cedar Ridge Fire?")
    assert answer.citations and all(any(ch.isdigit() for ch in c.sentence) or "seven" in c.sentence
                                    or "Three" in c.sentence for c in answer.citations), [
        c.sentence for c in answer.citations]


def test_what_about_a_new_subject_asks_the_same_of_it(service: Service) -> None:
    answer = ask(service, "What about the Pine Hollow fire?", ACRES)
    assert answer.resolved_question == "What about the Pine Hollow fire? (acres burned)"
    assert "acres" in first(answer)
    assert answer.conflict_note is not None and "percent" not in answer.conflict_note  # the asked measure only


@pytest.mark.parametrize(("question", "earlier", "expected"), [
    ("When was it restored?", STORM, "reconnected"),  # a pronoun follow-up
    ("How much did the library renovation cost?", STORM, "The project cost $6.8 million"),  # a new topic
    ("How many North Korean soldiers have died?", "Who won the 2022 World Cup final?",  # after an abstention
     "about 300 North Korean soldiers had died"),
    ("And how many residents were evacuated?", ACRES, "residents"),  # after a conflict answer
])
def test_follow_up_matrix_in_a_slack_thread(service: Service, question: str, earlier: str, expected: str) -> None:
    from newsdesk.adapters.dedup import MemorySeenEvents
    from newsdesk.adapters.slack_app import SlackEntry, build_slack_app
    from tests.slack_fake import BOT_ID, BOT_USER, FakeSlack, api_gateway_event, events_body
    from tests.test_slack_app import SETTINGS

    with FakeSlack() as slack:
        entry = SlackEntry(build_slack_app(lambda: service, SETTINGS, MemorySeenEvents(), base_url=slack.base_url))
        opened = slack.add_message("C0NEWSROOM", f"<@{BOT_USER}> {earlier}")
        slack.add_message("C0NEWSROOM", ask(service, earlier).text, user=BOT_USER, thread_ts=opened)
        slack.messages["C0NEWSROOM"][-1]["bot_id"] = BOT_ID
        text = f"<@{BOT_USER}> {question}"
        ts = slack.add_message("C0NEWSROOM", text, thread_ts=opened)
        entry.handle(api_gateway_event(events_body("app_mention", text=text, ts=ts, thread_ts=opened)), None)
        assert entry.local is not None
        entry.local.wait()
        [post] = slack.called("chat.postMessage")
    assert post.params["thread_ts"] == opened
    assert expected in post.params["text"], post.params["text"]
    # the thread's question was the context (Slack adds the figures' note after the answer)
    assert post.params["text"].startswith(ask(service, question, earlier).text)



# -- counts as news reports them (other topics, outlets and phrasings) ----------------------------------------------
QUAKE = "How many people died in the Marenza earthquake?"


@pytest.mark.parametrize(("question", "about", "latest", "earlier"), [
    (QUAKE, "deaths", "Global Wire reported nineteen people on 2025-03-05", "Coastal Times reported at least 12 "
     "people on 2025-03-02"),
    ("How many people were injured in the Marenza earthquake?", "injured", "Coastal Times reported 140 people on "
     "2025-03-03", "Coastal Times reported dozens on 2025-03-02"),
    ("How many people were arrested over the museum theft?", "arrests", "Metro Post reported four on 2025-01-22",
     "Metro Post reported three men on 2025-01-20"),
    # "cut 1,200 jobs" and "lay off about 1,500 workers" count the same thing
    ("How many jobs will Northwind Air cut?", "jobs", "City Ledger reported about 1,500 workers on 2025-02-14",
     "Business Daily reported 1,200 jobs on 2025-02-10"),
])
def test_a_count_revised_over_time_reads_newest_first(service: Service, question: str, about: str, latest: str,
                                                      earlier: str) -> None:
    answer = ask(service, question)
    assert answer.conflict_note is not None, [c.sentence for c in answer.citations]
    assert answer.claims[0].about == about and answer.claims[0].kind == "updated"
    assert f"the latest, {latest}" in answer.conflict_note and f"earlier, {earlier}" in answer.conflict_note


def test_a_latest_question_leads_with_the_newest_report_of_the_count(service: Service) -> None:
    answer = ask(service, "What is the latest death toll from the earthquake?")
    assert first(answer).startswith("Nineteen people died") and answer.citations[0].outlet == "Global Wire"
    # "killing at least 12", then "climbed to 19" and "Nineteen people died": one update; the repeat is not a step
    assert answer.conflict_note is not None and ("the latest, Global Wire reported nineteen people on 2025-03-05 [1], "
                                                 "as did Coastal Times on 2025-03-03 [2]; earlier, Coastal Times "
                                                 "reported at least 12 people on 2025-03-02") in answer.conflict_note


@pytest.mark.parametrize(("question", "earlier", "expected", "taken_as"), [
    ("And how many were injured?", QUAKE, "140 people were injured", "And how many were injured? (Marenza earthquake)"),
    # a pronoun and a verb that could stand for any event: the earlier subject, and its reporting only
    ("When did it happen?", QUAKE, "struck the coastal province of Marenza early Sunday",
     "When did it happen? (Marenza earthquake)"),
    ("What about injuries?", QUAKE, "injur", "What about injuries? (Marenza earthquake)"),
    ("Who is its chief executive?", "How many jobs will Northwind Air cut?", "Chief executive Dana Ruiz",
     "Who is its chief executive? (Northwind Air)"),
    # a nameless subject carries what it was about, not what it asked for
    ("Were they caught?", "Who stole the paintings from the museum?", "arrested",
     "Were they caught? (stole paintings museum)"),
    ("How many buildings were damaged?", QUAKE, "3,400 buildings were damaged", None),  # its own subject
])
def test_follow_ups_on_other_topics(service: Service, question: str, earlier: str, expected: str,
                                    taken_as: str | None) -> None:
    answer = ask(service, question, earlier)
    assert answer.resolved_question == taken_as
    assert expected in " ".join(c.sentence for c in answer.citations[:2]), [c.sentence for c in answer.citations]


def test_a_follow_up_keeps_to_the_reporting_that_names_its_subject(service: Service) -> None:
    # "No injuries were reported." (a storm story) matches "injuries" best; the conversation is about Marenza
    answer = ask(service, "What about injuries?", QUAKE)
    assert answer.citations and all(c.article_id.startswith("quake-") for c in answer.citations), [
        (c.article_id, c.sentence) for c in answer.citations]
    alone = ask(service, "What about injuries?")
    assert alone.abstained or any(not c.article_id.startswith("quake-") for c in alone.citations)
