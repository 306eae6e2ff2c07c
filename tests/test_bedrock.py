"""The Bedrock answerer end to end against a local Converse server: what the user receives in each case."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from newsdesk.adapters.bedrock import BedrockGenerator
from newsdesk.adapters.langchain_retriever import NewsdeskRetriever, build_answer_chain
from newsdesk.api.http import handle_chat
from newsdesk.api.openapi import openapi_json
from newsdesk.app import build_generators
from newsdesk.cli import cli
from newsdesk.models import Answer, Article, Query
from newsdesk.service import Service
from newsdesk.settings import Settings
from tests.bedrock_fake import MODEL_ID, Call, FakeBedrock, Reply, aws_test_env, running
from tests.conftest import ROOT

pytestmark = pytest.mark.server

QUESTION = "How many homes lost power in the storm?"
ONE_LEFT_OUT = "(1 generated statement was left out because the sources do not support it.)"
KURSK = Article(
    "kursk-casualties",
    "SEOUL - South Korea's National Intelligence Service said about 300 North Korean soldiers had died and about "
    "2,700 were wounded fighting for Russia in the Kursk region. Pyongyang has not confirmed that its troops are in "
    "Russia.", title="Spy agency counts North Korean losses", outlet="Harbour Times", published_at="2024-12-19")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    aws_test_env(monkeypatch)
    with running() as server:
        yield server


@pytest.fixture
def service(loaded_fake_service: Service, fake: FakeBedrock) -> Service:
    generator = BedrockGenerator(MODEL_ID, "us-east-1", fake.url, timeout_seconds=0.5, max_attempts=1)
    loaded_fake_service.pipeline.generators = {"bedrock": generator}
    loaded_fake_service.pipeline.default_answerer = "bedrock"
    return loaded_fake_service


def ask(service: Service) -> Answer:
    return service.ask(Query(QUESTION))


def verified_in_store(service: Service, answer: Answer) -> bool:
    found = service.store.articles([c.article_id for c in answer.citations])
    return all(found[c.article_id][0].text[c.start:c.end] == c.sentence for c in answer.citations)


def test_a_well_cited_answer(service: Service, fake: FakeBedrock, caplog: pytest.LogCaptureFixture) -> None:
    def script(call: Call) -> Reply:
        return Reply(text=f"The storm cut power to 9,500 homes [{call.label_of('9,500 homes')}]. "
                          f"About 12,000 homes lost power by an earlier count [{call.label_of('12,000')}].",
                     input_tokens=812, output_tokens=47)

    fake.reply(script)
    with caplog.at_level(logging.INFO):
        answer = ask(service)
    assert answer.answerer == "bedrock" and answer.fallback is None and not answer.abstained
    assert answer.text == ("The storm cut power to 9,500 homes. [1] "
                           "About 12,000 homes lost power by an earlier count. [2]")
    assert ["9,500 homes" in answer.citations[0].sentence, "12,000" in answer.citations[1].sentence] == [True, True]
    assert [c.outlet for c in answer.citations] == ["Harbor Gazette", "Valley Courier"]
    assert verified_in_store(service, answer) and answer.dropped_citations == 0 and answer.unsupported == ()
    (call,) = fake.calls
    assert call.model_id == MODEL_ID and call.body["inferenceConfig"]["temperature"] == 0
    assert "quoted data" in call.system_text and "<<<SOURCES" in call.user_text and QUESTION in call.user_text
    assert "input_tokens=812 output_tokens=47" in caplog.text


def test_a_fabricated_marker_is_removed_and_counted(service: Service, fake: FakeBedrock) -> None:
    fake.reply(lambda call: Reply(text=f"Power was cut to 9,500 homes [{call.label_of('9,500 homes')}][S9]."))
    answer = ask(service)
    assert answer.text == "Power was cut to 9,500 homes. [1]"
    assert len(answer.citations) == 1 and answer.dropped_citations == 1 and answer.to_dict()["dropped_citations"] == 1


def test_a_sentence_with_no_marker_is_not_presented_as_supported(service: Service, fake: FakeBedrock) -> None:
    fake.reply(lambda call: Reply(text=f"Power was cut to 9,500 homes [{call.label_of('9,500 homes')}]. "
                                       "The outage was the worst in a decade."))
    answer = ask(service)
    assert answer.text == f"Power was cut to 9,500 homes. [1] {ONE_LEFT_OUT}"
    assert answer.unsupported == ("The outage was the worst in a decade.",)
    assert answer.to_dict()["unsupported"] == ["The outage was the worst in a decade."]
    assert answer.to_dict()["dropped_statements"] == [{"statement": "The outage was the worst in a decade.", "reasons": [
        {"reason": "no_verified_source", "detail": "it cites no source sentence that was given and verified"}]}]


def test_a_marker_on_a_sentence_that_was_not_provided(service: Service, fake: FakeBedrock) -> None:
    def script(call: Call) -> Reply:
        beyond = f"S{len(call.sources()) + 1}"  # the next id: a real-looking sentence the model was never shown
        return Reply(text=f"Power was cut to 9,500 homes [{call.label_of('9,500 homes')}]. "
                          f"Crews restored power within an hour [{beyond}].")

    fake.reply(script)
    answer = ask(service)
    assert answer.text == f"Power was cut to 9,500 homes. [1] {ONE_LEFT_OUT}"
    assert answer.unsupported == ("Crews restored power within an hour.",) and answer.dropped_citations == 1


def test_a_cited_sentence_with_a_wrong_figure_is_dropped_and_the_json_says_why(service: Service,
                                                                                  fake: FakeBedrock) -> None:
    """Issue 28: the marker is real but the figure is not the source's (300 died, about 2,700 were wounded)."""
    assert service.ingest([KURSK]).failed == 0

    def script(call: Call) -> Reply:
        source = call.label_of("300 North Korean soldiers had died")
        return Reply(text=f"South Korea's intelligence agency reported that 3,000 North Korean soldiers had died "
                          f"[{source}]. About 2,700 were wounded, the agency said [{source}].")

    fake.reply(script)
    event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}, "requestId": "r1"},
             "body": json.dumps({"question": "How many North Korean soldiers died fighting for Russia?"})}
    response = handle_chat(event, lambda: service)
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and body["answerer"] == "bedrock" and "fallback" not in body
    assert body["answer"] == f"About 2,700 were wounded, the agency said. [1] {ONE_LEFT_OUT}"
    assert "3,000" not in body["answer"]
    [citation] = body["citations"]
    assert citation["article_id"] == KURSK.id and "about 300 North Korean soldiers had died" in citation["sentence"]
    wrong = "South Korea's intelligence agency reported that 3,000 North Korean soldiers had died."
    assert body["unsupported"] == [wrong]
    assert body["dropped_statements"] == [{"statement": wrong, "reasons": [
        {"reason": "number_not_in_source", "detail": 'the figure "3,000" is not in the cited sentences'}]}]
    document = openapi_json()  # the field is documented, and the body fits the document
    assert "dropped_statements" in document["components"]["schemas"]["ChatResponse"]["properties"]
    schema = document["paths"]["/chat"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert not list(Draft202012Validator({**schema, "components": document["components"]}).iter_errors(body))


def test_only_fabricated_markers_fall_back_to_the_verified_quotes(service: Service, fake: FakeBedrock) -> None:
    fake.reply(Reply(text="Power was cut to 20,000 homes [S9]."))
    answer = ask(service)
    assert answer.answerer == "extractive" and answer.fallback == "unsupported_reply"
    assert answer.unsupported == ("Power was cut to 20,000 homes.",) and answer.dropped_citations == 1
    assert answer.citations and verified_in_store(service, answer)


def test_the_cannot_answer_phrase_abstains(service: Service, fake: FakeBedrock) -> None:
    fake.reply(Reply(text="The sources do not answer this question."))
    answer = ask(service)
    assert answer.abstained and answer.answerer == "bedrock" and answer.citations == () and answer.fallback is None


@pytest.mark.parametrize(("reply", "reason"), [
    (Reply(status=429, error_type="ThrottlingException"), "throttled"),
    (Reply(status=403, error_type="AccessDeniedException"), "access_denied"),
    (Reply(raw=b""), "malformed_reply"),
    (Reply(raw=b"<html>gateway says no</html>"), "malformed_reply"),
    (Reply(status=503, raw=b"not json at all"), "unavailable"),
    (Reply(text="late", delay=1.5), "timeout"),
])
def test_failures_fall_back_to_the_extractive_answer(service: Service, fake: FakeBedrock, reply: Reply,
                                                     reason: str) -> None:
    fake.reply(reply)
    answer = ask(service)
    assert answer.answerer == "extractive" and answer.fallback == reason
    assert not answer.abstained and answer.citations and verified_in_store(service, answer)
    assert answer.to_dict()["fallback"] == reason and len(fake.calls) == 1


def test_throttling_is_retried_before_falling_back(loaded_fake_service: Service, fake: FakeBedrock) -> None:
    loaded_fake_service.pipeline.generators = {"bedrock": BedrockGenerator(MODEL_ID, "us-east-1", fake.url, 1.0, max_attempts=2)}
    fake.reply(Reply(status=429, error_type="ThrottlingException"))
    answer = loaded_fake_service.ask(Query(QUESTION, answerer="bedrock"))
    assert answer.fallback == "throttled" and len(fake.calls) == 2


def test_the_http_api_returns_200_when_bedrock_is_throttled(service: Service, fake: FakeBedrock) -> None:
    fake.reply(Reply(status=429, error_type="ThrottlingException"))
    event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}, "requestId": "r1"},
             "body": json.dumps({"question": QUESTION, "answerer": "bedrock"})}
    response = handle_chat(event, lambda: service)
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and body["fallback"] == "throttled" and body["citations"]


def test_a_request_for_bedrock_is_400_when_the_deployment_does_not_allow_it(
        loaded_fake_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    aws_test_env(monkeypatch)
    settings = Settings(bedrock_model_id=MODEL_ID, allow_answerer_override=False)
    loaded_fake_service.pipeline.generators = build_generators(settings)
    event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}},
             "body": json.dumps({"question": QUESTION, "answerer": "bedrock"})}
    response = handle_chat(event, lambda: loaded_fake_service)
    assert response["statusCode"] == 400 and "not enabled" in json.loads(response["body"])["error"]["message"]
    assert set(build_generators(Settings(bedrock_model_id=MODEL_ID, allow_answerer_override=True))) == {"bedrock"}
    assert set(build_generators(Settings(answerer="bedrock", bedrock_model_id=MODEL_ID))) == {"bedrock"}


def test_the_langchain_retriever_returns_documents_with_citation_metadata(loaded_fake_service: Service) -> None:
    retriever = NewsdeskRetriever.over_pipeline(loaded_fake_service.pipeline, k=3)
    documents = retriever.invoke(QUESTION)
    assert documents and {"article_id", "url", "title", "outlet", "published_at", "start", "end", "score"} <= set(
        documents[0].metadata)
    for doc in documents:
        article = loaded_fake_service.store.articles([doc.metadata["article_id"]])[doc.metadata["article_id"]][0]
        assert article.text[doc.metadata["start"]:doc.metadata["end"]] == doc.page_content


def test_a_langchain_user_builds_a_chain_on_the_retriever(loaded_fake_service: Service) -> None:
    """LCEL as a LangChain user writes it: retriever -> their own prompt -> a chat model -> a string."""
    from langchain_core.documents import Document
    from langchain_core.messages import AIMessage
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompt_values import ChatPromptValue
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    def numbered(documents: list[Document]) -> str:
        return "\n".join(f"[{d.metadata['label']}] {d.page_content} ({d.metadata['outlet']})" for d in documents)

    prompt = ChatPromptTemplate.from_messages([("system", "Answer from the sources only."),
                                               ("human", "Sources:\n{context}\n\nQuestion: {question}")])
    shown: list[str] = []

    def model(prompt_value: ChatPromptValue) -> AIMessage:  # a stand-in chat model that records its prompt
        shown.append(prompt_value.to_string())
        return AIMessage(content="9,500 homes [S1].")

    retriever = NewsdeskRetriever.over_pipeline(loaded_fake_service.pipeline, k=2)
    chain = {"context": retriever | numbered, "question": RunnablePassthrough()} | prompt | model | StrOutputParser()
    assert chain.invoke(QUESTION) == "9,500 homes [S1]."
    [rendered] = shown
    assert "Answer from the sources only." in rendered and f"Question: {QUESTION}" in rendered
    assert "[S1] " in rendered and "9,500 homes" in rendered and "(Harbor Gazette)" in rendered


def test_the_answer_chain_runs_on_langchains_bedrock_model(loaded_fake_service: Service, fake: FakeBedrock) -> None:
    """build_answer_chain with ChatBedrockConverse: the Newsdesk prompt and sources, Converse on the wire."""
    langchain_aws = pytest.importorskip("langchain_aws")
    retriever = NewsdeskRetriever.over_pipeline(loaded_fake_service.pipeline, k=3)
    fake.reply(lambda call: Reply(text=f"Power was cut [{call.label_of('9,500 homes')}]."))
    llm = langchain_aws.ChatBedrockConverse(model=MODEL_ID, region_name="us-east-1", base_url=fake.url,
                                            temperature=0.0, max_tokens=200, disable_streaming=True)
    result = build_answer_chain(retriever, llm).invoke(QUESTION)
    assert result["documents"] == retriever.invoke(QUESTION)
    assert result["message"].text.startswith("Power was cut [S")
    (call,) = fake.calls
    assert "<<<SOURCES" in call.user_text and "quoted data" in call.system_text


def test_eval_with_bedrock_reports_citations_removed(tmp_path: Path, fake: FakeBedrock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = tmp_path / "tiny"
    dataset.mkdir()
    articles = [
        {"id": "storm", "title": "Storm", "outlet": "Harbor Gazette", "published_at": "2024-03-06",
         "text": "The storm cut power to 9,500 homes on Tuesday. Crews restored most lines by Wednesday."},
        {"id": "bridge", "title": "Bridge", "outlet": "Valley Courier", "published_at": "2024-03-07",
         "text": "The council closed the old bridge for repairs. A ferry will run until it reopens in May."},
    ]
    questions = [
        {"id": "q1", "question": "How many homes did the storm cut power to?", "answers": ["9,500"],
         "evidence": [{"doc_id": "storm", "sentence": "The storm cut power to 9,500 homes on Tuesday."}]},
        {"id": "q2", "question": "Why did the council close the bridge?", "answers": ["repairs"],
         "evidence": [{"doc_id": "bridge", "sentence": "The council closed the old bridge for repairs."}]},
    ]
    (dataset / "corpus.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    (dataset / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    for name, value in {"NEWSDESK_EMBEDDER": "hash", "NEWSDESK_BEDROCK_MODEL_ID": MODEL_ID,
                        "NEWSDESK_BEDROCK_ENDPOINT_URL": fake.url, "NEWSDESK_BEDROCK_MAX_ATTEMPTS": "1",
                        "NEWSDESK_ABSTAIN_THRESHOLD": "0"}.items():
        monkeypatch.setenv(name, value)

    def script(call: Call) -> Reply:  # cite the first source correctly, and invent one more
        return Reply(text=f"{call.sources()['S1']} [S1][S{len(call.sources()) + 5}].")

    fake.reply(script)
    result = CliRunner().invoke(cli, ["eval", str(dataset), "--answerer", "bedrock", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert len(fake.calls) == 2
    assert summary["questions"] == 2 and summary["citations_removed"] == 2 and summary["citations_verified"] == 1.0


def test_the_cli_shows_removed_sentences_and_fallbacks(tmp_path: Path, fake: FakeBedrock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"NEWSDESK_EMBEDDER": "hash", "NEWSDESK_STORE": str(tmp_path / "index"),
                        "NEWSDESK_BEDROCK_MODEL_ID": MODEL_ID, "NEWSDESK_BEDROCK_ENDPOINT_URL": fake.url,
                        "NEWSDESK_BEDROCK_MAX_ATTEMPTS": "1", "NEWSDESK_ABSTAIN_THRESHOLD": "0"}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(Path(__file__).parent.parent / "examples" / "articles")]).exit_code == 0
    fake.reply(lambda call: Reply(text=f"Power was cut to 9,500 homes [{call.label_of('9,500 homes')}]. It was historic."))
    shown = runner.invoke(cli, ["ask", "--answerer", "bedrock", QUESTION])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(f"Power was cut to 9,500 homes. [1] {ONE_LEFT_OUT}\n"
                                   "  [1] Storm cuts power across the harbor district")
    assert "removed, the sources do not support it (" in shown.output and "): It was historic." in shown.output

    fake.reply(Reply(status=403, error_type="AccessDeniedException"))
    shown = runner.invoke(cli, ["ask", "--answerer", "bedrock", QUESTION])
    assert shown.exit_code == 0 and "(extractive answer: the bedrock answerer failed: access_denied)" in shown.output


def test_the_product_path_imports_no_langchain() -> None:
    """Building the Bedrock answerer loads boto3 only: LangChain stays off the cold start."""
    code = ("import sys\nfrom newsdesk.adapters.bedrock import BedrockGenerator\n"
            f"BedrockGenerator({MODEL_ID!r}, 'us-east-1')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('langchain')}))")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
