"""Block Kit formatting of answers within Slack's limits, and Slack text back to a plain question."""

from __future__ import annotations

from newsdesk.api.slack_format import (
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    answer_blocks,
    answer_text,
    citation_text,
    clean_question,
    earlier_questions,
    notice_blocks,
)
from newsdesk.models import Answer, Citation, DroppedStatement, GroundingProblem
from tests.slack_fake import block_problem


def cite(n: int, sentence: str = "Tuesday's storm cut power to 9,500 homes.", **kw: object) -> Citation:
    values: dict[str, object] = {
        "n": n, "article_id": f"a{n}", "title": "Storm cuts power", "url": f"https://news.example/{n}",
        "outlet": "Harbor Gazette", "published_at": "2024-03-06", "sentence": sentence, "start": 0,
        "end": len(sentence), "score": 0.9,
    }
    values.update(kw)
    return Citation(**values)  # type: ignore[arg-type]


def answer(text: str, citations: tuple[Citation, ...], abstained: bool = False) -> Answer:
    return Answer(question="q", text=text, abstained=abstained, citations=citations)


def all_text(blocks: list[dict]) -> str:
    return "\n".join(b["text"]["text"] if b["type"] == "section" else "".join(e["text"] for e in b.get("elements", []))
                     for b in blocks)


def test_answer_then_each_citation_as_a_linked_quote() -> None:
    blocks = answer_blocks(answer("Power was cut to 9,500 homes. [1]", (cite(1),)), question="How many homes?")
    assert [b["type"] for b in blocks] == ["context", "section", "divider", "section", "context"]
    assert blocks[1]["text"]["text"] == "Power was cut to 9,500 homes. [1]"
    assert blocks[3]["text"]["text"] == (
        "*[1]* <https://news.example/1|Storm cuts power>\n_Harbor Gazette · 6 Mar 2024_\n"
        ">“Tuesday's storm cut power to 9,500 homes.”"
    )
    assert "2 sentence" not in all_text(blocks) and "1 sentence(s) quoted verbatim from 1 article(s)" in all_text(blocks)


def test_a_dropped_statement_is_noted_but_never_shown() -> None:
    """The note in the answer text reaches Slack; the statement itself, which its source contradicts, does not."""
    wrong = "Power was cut to 95,000 homes."
    dropped = DroppedStatement(wrong, (GroundingProblem("number_not_in_source", 'the figure "95,000" is not in the '
                                                                              "cited sentences"),))
    note = "(1 generated statement was left out because the sources do not support it.)"
    reply = Answer("q", f"Crews worked overnight. [1] {note}", False, (cite(1, "Crews worked overnight."),),
                   answerer="bedrock", unsupported=(wrong,), dropped_statements=(dropped,))
    shown = all_text(answer_blocks(reply)) + answer_text(reply)
    assert note in shown and "95,000" not in shown


def test_abstention_is_plain_with_no_sources() -> None:
    blocks = answer_blocks(answer("The reporting does not cover that question.", (), abstained=True))
    assert [b["type"] for b in blocks] == ["section", "context"]
    assert "does not cover that question" in blocks[0]["text"]["text"]


def test_mrkdwn_is_escaped_and_bad_urls_are_not_linked() -> None:
    c = cite(1, sentence="Costs <rose> & fell", title="A|B <b>", url="javascript:alert(1)", outlet=None, published_at=None)
    text = citation_text(c)
    assert "<javascript" not in text and "*A|B &lt;b&gt;*" in text
    assert "“Costs &lt;rose&gt; &amp; fell”" in text
    linked = citation_text(cite(2, url="https://x.example/a|b>c"))
    assert "<https://x.example/a%7Cb%3Ec|" in linked


def test_long_answers_stay_within_slack_limits() -> None:
    long_text = " ".join(f"word{i} & <more>" for i in range(20_000))
    many = tuple(cite(i, sentence="x" * 5000) for i in range(1, 80))
    for ans in (answer(long_text, many), answer(long_text, (cite(1),)), answer("short [1]", many)):
        blocks = answer_blocks(ans, question="q" * 5000)
        assert len(blocks) <= MAX_BLOCKS
        assert block_problem(blocks) is None
        assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in blocks if b["type"] == "section")
    blocks = answer_blocks(answer(long_text, (cite(1),)))
    assert "shortened to fit Slack" in all_text(blocks)
    assert "&amp;" in all_text(blocks) and "& " not in all_text(blocks).replace("&amp; ", "")
    many_blocks = answer_blocks(answer("short [1]", many))
    assert "more source(s) not shown" in all_text(many_blocks)
    assert len(answer_text(answer(long_text, many))) <= 3000


def test_split_sections_keep_every_word_when_there_is_room() -> None:
    text = " ".join(f"w{i}" for i in range(2000))  # about 11,000 characters: 4 sections
    blocks = answer_blocks(answer(text, (cite(1),)))
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"][:-1]
    assert len(sections) == 4 and " ".join(sections).split() == text.split()


def test_notice_is_one_short_section() -> None:
    [block] = notice_blocks("Ask me a question <please>")
    assert block["text"]["text"] == "Ask me a question &lt;please&gt;"


def test_clean_question_removes_the_bot_mention_and_decodes_slack_markup() -> None:
    raw = "<@UNEWSDESK> what did <@UMAYOR|mayor> say about <#C1|bridges> &amp; <https://x.example/a|this story> &lt;now&gt;?"
    assert clean_question(raw, "UNEWSDESK") == "what did @mayor say about #bridges & this story <now>?"
    assert clean_question("<@UNEWSDESK>   ", "UNEWSDESK") == ""
    assert clean_question("see <https://x.example/b> <!here>", None) == "see https://x.example/b"


def test_earlier_questions_only_when_newsdesk_answered_in_the_thread() -> None:
    thread = [
        {"ts": "1.0", "user": "UA", "text": "<@UBOT> Which bridge closed?"},
        {"ts": "2.0", "user": "UBOT", "bot_id": "B1", "text": "The Old Mill Bridge. [1]"},
        {"ts": "3.0", "user": "UB", "text": "chat between people"},
        {"ts": "4.0", "user": "UA", "text": "<@UBOT> when will it reopen?"},
        {"ts": "5.0", "user": "UA", "text": "<@UBOT> later question"},
    ]
    assert earlier_questions(thread, "4.0", "UBOT", "B1") == ("Which bridge closed?",)
    assert earlier_questions(thread, "4.0", "UBOT", "B1", direct=True) == ("Which bridge closed?", "chat between people")
    assert earlier_questions([m for m in thread if m["ts"] != "2.0"], "4.0", "UBOT", "B1") == ()
    assert earlier_questions(thread, "5.0", "UBOT", "B1", limit=1) == ("when will it reopen?",)
    long_first = [{**thread[0], "text": "<@UBOT> " + "why " * 300}, *thread[1:]]
    assert earlier_questions(long_first, "5.0", "UBOT", "B1") == ("when will it reopen?",)


def test_a_follow_up_says_how_it_was_taken() -> None:
    from newsdesk.models import Answer

    answer = Answer("And how many were evacuated?", "About 1,200 residents were ordered to leave. [1]", False, (),
                    resolved_question="And how many were evacuated? (Cedar Ridge Fire)")
    contexts = [e["text"] for b in answer_blocks(answer) if b["type"] == "context" for e in b["elements"]]
    assert "_Taken as:_ And how many were evacuated? (Cedar Ridge Fire)" in contexts
    alone = Answer("How many acres burned?", "text [1]", False, ())
    assert not any("Taken as" in e["text"] for b in answer_blocks(alone) if b["type"] == "context" for e in b["elements"])
