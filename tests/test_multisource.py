"""Questions that name several sources cite each one; the eval reports this per MultiHop-RAG question type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from newsdesk.ingest.load import load_paths

from newsdesk.answer.compose import cover
from newsdesk.answer.evidence import ScoredSentence
from newsdesk.answer.gather import RANKED_ARTICLE_BONUS, Limits, _favour_ranked
from newsdesk.errors import ConfigError
from newsdesk.eval.score import Question, Record, by_type
from newsdesk.models import Article, Query, Sentence, StoredSentence
from newsdesk.service import AnswerConfig, Service
from newsdesk.settings import Settings

STORM = Path(__file__).resolve().parent / "fixtures" / "storm"


def question(qid: str, kind: str, gold: tuple[str, ...], answerable: bool = True) -> Question:
    return Question(qid, "q", ("a",), gold, tuple(f"sentence {g}" for g in gold), answerable, kind)


def record(qid: str, cited: tuple[str, ...], abstained: bool = False) -> Record:
    citations = [{"n": i + 1, "article_id": a, "start": 0, "end": 1, "sentence": f"sentence {a}", "score": 1.0}
                 for i, a in enumerate(cited)]
    return Record(qid, abstained, [], citations, 1.0)


def test_by_type_counts_every_gold_article_cited_recall_and_abstention() -> None:
    pairs = [
        (question("c1", "comparison_query", ("a", "b")), record("c1", ("a", "b", "x"))),
        (question("c2", "comparison_query", ("a", "b")), record("c2", ("a",))),
        (question("t1", "temporal_query", ("a", "b")), record("t1", (), abstained=True)),
        (question("n1", "null_query", (), answerable=False), record("n1", (), abstained=True)),
        (question("n2", "null_query", (), answerable=False), record("n2", ("a",))),
    ]
    out = by_type(pairs)
    assert out["comparison_all_sources_cited"] == 0.5 and out["comparison_evidence_recall"] == 0.75
    assert out["comparison_answer_rate"] == 1.0
    assert out["temporal_all_sources_cited"] == 0.0 and out["temporal_answer_rate"] == 0.0
    assert "temporal_evidence_recall" not in out  # nothing answered
    assert out["null_abstain_rate"] == 0.5
    assert by_type([(question("x", None, ("a",)), record("x", ("a",)))]) == {}  # untyped sets add nothing


def test_a_question_naming_two_outlets_cites_both(fake_service: Service) -> None:
    assert fake_service.ingest(load_paths([str(STORM)])).failed == 0
    answer = fake_service.ask(Query("Did the Tri-County Wire and the Valley Courier give the same number of deaths?"))
    outlets = [c.outlet for c in answer.citations]
    assert {"Tri-County Wire", "Valley Courier"} <= set(outlets) and "Lakeshore Gazette" not in outlets
    one = fake_service.ask(Query("What did the Lakeshore Gazette report about Storm Hadley?"))
    assert {c.outlet for c in one.citations} == {"Lakeshore Gazette"}


def _said(article: Article, index: int, score: float) -> ScoredSentence:
    text = article.text.split(". ")[index].rstrip(".") + "."
    start = article.text.index(text[:-1])
    sentence = Sentence(article.id, index, start, start + len(text), article.text[start:start + len(text)])
    return ScoredSentence(StoredSentence(sentence, "v", np.zeros(4, np.float32)), score, 0.5)


def test_once_each_part_is_quoted_the_other_slots_go_to_further_well_ranked_articles() -> None:
    wired = Article("wired", "Wired praised the phone. Wired liked its battery.", outlet="Wired")
    verge = Article("verge", "The Verge called the phone dull.", outlet="The Verge")
    wired2 = Article("wired2", "Wired later found the camera slow.", outlet="Wired")
    wired3 = Article("wired3", "Wired reviewed a laptop.", outlet="Wired")  # not ranked for the whole question
    wired4 = Article("wired4", "Wired compared the phone's price.", outlet="Wired")
    articles = {a.id: a for a in (wired, verge, wired2, wired3, wired4)}
    items = [_said(wired, 0, 12.0), _said(wired, 1, 11.5), _said(verge, 0, 11.0), _said(wired3, 0, 9.0),
             _said(wired2, 0, 8.0), _said(wired4, 0, 7.0)]
    first = [items[0], items[2]]  # one sentence for each part: Wired's and The Verge's
    outlets = ["Wired", "The Verge"]

    def ids(picked: list[ScoredSentence]) -> list[str]:
        return [p.stored.sentence.article_id for p in picked]

    # Without the question's ranking: the second Wired sentence (11.5 less the repeat cost) fills the third slot,
    # and nothing past k adds enough new words.
    assert ids(cover(items, articles, outlets, {}, 3, 4, 0.75, first)) == ["wired", "verge", "wired"]
    ranked = ("wired", "verge", "wired2", "wired4")
    assert ids(cover(items, articles, outlets, {}, 3, 4, 0.75, first, ranked=ranked)) == [
        "wired", "verge", "wired2", "wired4"]  # never the unranked wired3, nor a repeat
    assert ids(cover(items, articles, outlets, {}, 3, 3, 0.75, first, ranked=ranked)) == ["wired", "verge", "wired2"]


def test_a_part_prefers_the_article_the_whole_question_ranks_high() -> None:
    govee = Article("govee", "Halloween is near and light strips are on sale.", outlet="The Verge")
    trial = Article("trial", "Because FTX had grown so much, he could no longer run both companies.", outlet="The Verge")
    part = [_said(govee, 0, 4.1), _said(trial, 0, 4.0)]  # both from the part's outlet and day, nearly tied
    ranked = _favour_ranked([part], {"trial"})[0]
    assert [s.stored.sentence.article_id for s in ranked] == ["trial", "govee"]
    assert ranked[0].score == 4.0 + RANKED_ARTICLE_BONUS


def test_gathering_limits_come_from_the_settings() -> None:
    settings = Settings(part_articles=4, ranked_sources=6, extra_sources=0, multi_source_support=0.4,
                        named_floor=0.3, latest_pool=12)
    config = AnswerConfig.from_settings(settings)
    got = config.gathering
    assert (got.part_articles, got.ranked_sources, got.extra_sources, got.multi_source_support,
            got.named_floor, got.latest_pool) == (4, 6, 0, 0.4, 0.3, 12)
    defaults = Limits(3, 10, 0.75).gathering
    assert (defaults.part_articles, defaults.ranked_sources, defaults.extra_sources, defaults.latest_pool) == (
        Settings().part_articles, Settings().ranked_sources, Settings().extra_sources, Settings().latest_pool)
    with pytest.raises(ConfigError, match="EXTRA_SOURCES"):
        Settings(extra_sources=-1)
