"""Generative answers: number the evidence, prompt a generator, keep only what the sources support."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from newsdesk.answer.cite import make_citations, verified
from newsdesk.answer.compose import ABSTAIN_TEXT, choose
from newsdesk.answer.conflicts import conflict_note, find_conflicts
from newsdesk.answer.evidence import Evidence
from newsdesk.answer.gather import Gathered
from newsdesk.answer.grounding import check
from newsdesk.answer.prompts import load
from newsdesk.errors import GenerationFailed, GeneratorError
from newsdesk.ingest.sentences import split_sentences
from newsdesk.models import Answer, Article, Citation, DroppedStatement, GroundingProblem, Query
from newsdesk.ports import Generator

log = logging.getLogger(__name__)

CANNOT_ANSWER = "The sources do not answer this question."
MAX_SOURCES = 8  # sentences shown to the model; the answer cites a subset
PER_ARTICLE = 3
MAX_SENTENCES = 5

BRACKET = re.compile(r"\s*\[([^\[\]\n]{1,60})\]")
MARKER_BODY = re.compile(r"\s*S?\d+(?:\s*(?:[,;]|and)?\s*S?\d+)*\s*", re.I)
MARKER_ID = re.compile(r"S?\d+", re.I)
# A sentence ends after its marker group (and any punctuation) when more text follows.
AFTER_MARKERS = re.compile(r"\](?:[.!?][\"'”’)]*)?(?=\s+[^\s\[])")
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


NO_SOURCE = GroundingProblem("no_verified_source", "it cites no source sentence that was given and verified")


@dataclass(frozen=True)
class Verified:
    """A reply after verification: supported sentences, what was removed, and why."""

    text: str
    citations: tuple[Citation, ...]
    removed: tuple[DroppedStatement, ...]  # sentences not shown: no verified source, or beyond what it cites
    dropped: int  # markers removed because they named no provided, verified sentence
    abstained: bool

    @property
    def unsupported(self) -> tuple[str, ...]:
        """The removed sentences' text."""
        return tuple(r.statement for r in self.removed)


def number_sources(evidence: Evidence, k: int) -> tuple[list[Citation], int]:
    """The evidence sentences shown to the model as S1..Sn, each verified at its offsets; a question that names
    sources or times sees the sentences chosen for it first."""
    first = evidence.picks[:MAX_SOURCES] if isinstance(evidence, Gathered) else []
    chosen = choose(evidence.scored, max(k, MAX_SOURCES, len(first)), PER_ARTICLE, first)
    return make_citations(chosen, evidence.articles)


def label(source: Citation) -> str:
    """The marker a source is shown with (S1, S2, ...)."""
    return f"S{source.n}"


def render_sources(sources: Sequence[Citation]) -> str:
    """The numbered sources as prompt text."""
    line = load("source")
    return "\n".join(
        line.render(label=label(s), outlet=_quoted(s.outlet or "unknown outlet"),
                    published_at=_quoted(s.published_at or "undated"), sentence=_quoted(s.sentence))
        for s in sources
    )


def render_messages(question: str, sources: Sequence[Citation]) -> tuple[str, str]:
    """The system and user messages for one question."""
    system = load("system").render(max_sentences=MAX_SENTENCES, cannot_answer=CANNOT_ANSWER)
    user = load("answer").render(question=_quoted(question), sources=render_sources(sources), cannot_answer=CANNOT_ANSWER)
    return system, user


def check_prompts() -> None:
    """Render every answer prompt once, so a broken template fails at start, not on a user's question."""
    render_messages("check", [Citation(1, "a", None, None, "Outlet", "2024-01-01", "A sentence.", 0, 11, 1.0)])


def _quoted(text: str) -> str:
    """One line of quoted data that cannot close the SOURCES block or fake a source line."""
    flat = " ".join(text.split())
    return flat.replace("<<<", "‹‹‹").replace(">>>", "›››").replace('"', "'")


def verify(reply: str, sources: Sequence[Citation], articles: dict[str, Article]) -> Verified:
    """Parse the reply's markers and keep only sentences backed by a provided, verified source whose figures,
    names and negations they keep (grounding.check)."""
    by_label = {label(s).casefold(): s for s in sources
                if verified(articles.get(s.article_id), s.sentence, s.start, s.end)}
    cited: dict[str, Citation] = {}
    kept: list[str] = []
    removed: list[DroppedStatement] = []
    dropped = 0
    saw_cannot_answer = False
    for sentence in split_reply(reply):
        ids = [m.casefold() for body in _marker_bodies(sentence) for m in MARKER_ID.findall(body)]
        valid = list(dict.fromkeys(i for i in ids if i in by_label))
        dropped += sum(1 for i in ids if i not in by_label)
        plain = strip_markers(sentence)
        if _is_cannot_answer(plain):
            saw_cannot_answer = True
            continue
        if not plain:
            continue
        problems = check(plain, [by_label[i] for i in valid]) if valid else (NO_SOURCE,)
        if problems:
            removed.append(DroppedStatement(plain, problems))
            continue
        numbers = []
        for i in valid:
            source = cited.setdefault(i, replace(by_label[i], n=len(cited) + 1))
            numbers.append(source.n)
        kept.append(plain + " " + "".join(f"[{n}]" for n in numbers))
    abstained = not kept and saw_cannot_answer
    return Verified(" ".join(kept), tuple(cited.values()), tuple(removed), dropped, abstained)


def split_reply(reply: str) -> list[str]:
    """Sentences of a reply; marker groups stay with the sentence they end."""
    pieces = AFTER_MARKERS.sub(lambda m: m.group(0) + "\n", reply)
    sentences: list[str] = []
    for s in split_sentences("reply", "\n".join(BULLET.sub("", line) for line in pieces.split("\n"))):
        if sentences and not strip_markers(s.text).strip(".!?;:, "):
            sentences[-1] += " " + s.text  # a marker group on its own belongs to the sentence before
        else:
            sentences.append(s.text)
    return sentences


def _marker_bodies(sentence: str) -> list[str]:
    return [m.group(1) for m in BRACKET.finditer(sentence) if MARKER_BODY.fullmatch(m.group(1))]


def strip_markers(sentence: str) -> str:
    """The text without its citation markers."""
    text = BRACKET.sub(lambda m: "" if MARKER_BODY.fullmatch(m.group(1)) else m.group(0), sentence)
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split())).strip()


def _is_cannot_answer(text: str) -> bool:
    return _canonical(text) == _canonical(CANNOT_ANSWER)


def _canonical(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split()).strip(" .!\"'")


def generate_answer(generator: Generator, query: Query, evidence: Evidence, extractive: Callable[[], Answer]) -> Answer:
    """Answer with the generator, verified; on any GeneratorError, the extractive answer with a reason."""
    sources, unverifiable = number_sources(evidence, query.k)
    started = time.perf_counter()
    try:
        if not sources:
            raise GenerationFailed("no_verified_sources", "no evidence sentence could be verified at its offsets")
        draft = generator.generate(evidence.question, sources)
        if not draft.text.strip():
            raise GenerationFailed("malformed_reply", "the generator returned no text")
    except GeneratorError as exc:
        evidence.timing["generate"] = (time.perf_counter() - started) * 1000.0
        reason = getattr(exc, "reason", exc.code)
        log.warning("generator failed answerer=%s reason=%s fallback=extractive error=%s", generator.name, reason, exc)
        return replace(extractive(), fallback=reason)
    evidence.timing["generate"] = (time.perf_counter() - started) * 1000.0
    checked = verify(draft.text, sources, evidence.articles)
    dropped = checked.dropped + unverifiable
    ungrounded = sum(1 for r in checked.removed if r.problems != (NO_SOURCE,))
    log.info(
        "generative answer answerer=%s sources=%d cited=%d dropped_markers=%d unsupported=%d ungrounded=%d "
        "abstained=%s input_tokens=%d output_tokens=%d",
        generator.name, len(sources), len(checked.citations), checked.dropped, len(checked.removed), ungrounded,
        checked.abstained, draft.input_tokens, draft.output_tokens,
    )
    if checked.abstained:
        return _with_removed(_answer(evidence, ABSTAIN_TEXT, True, (), dropped, generator.name), checked)
    if not checked.citations:
        # Nothing the model wrote is backed by a source: show the verified quotes instead.
        fallback = extractive()
        text = f"{fallback.text} {removed_note(len(checked.removed), quoted=True)}" if fallback.citations \
            else fallback.text
        return _with_removed(replace(fallback, text=text, fallback="unsupported_reply",
                                     dropped_citations=fallback.dropped_citations + dropped), checked)
    groups = find_conflicts(list(checked.citations))  # the prose keeps its numbers; the claims use them
    text = f"{checked.text} {removed_note(len(checked.removed))}" if checked.removed else checked.text
    answer = replace(_answer(evidence, text, False, checked.citations, dropped, generator.name),
                     conflict=bool(groups), conflict_note=conflict_note(groups), claims=groups)
    return _with_removed(answer, checked)


def removed_note(count: int, quoted: bool = False) -> str:
    """Tells the reader that generated statements were left out (the JSON lists them with reasons)."""
    what = "1 generated statement was" if count == 1 else f"{count} generated statements were"
    note = f"({what} left out because the sources do not support {'it' if count == 1 else 'them'}"
    return note + ("; the answer quotes the sources instead.)" if quoted else ".)")


def _with_removed(answer: Answer, checked: Verified) -> Answer:
    return replace(answer, unsupported=checked.unsupported, dropped_statements=checked.removed)


def _answer(evidence: Evidence, text: str, abstained: bool, citations: tuple[Citation, ...], dropped: int,
            answerer: str) -> Answer:
    evidence.timing["total"] = (time.perf_counter() - evidence.started) * 1000.0
    return Answer(evidence.question, text, abstained, citations, evidence.ranked_ids, dropped,
                  evidence.timing, answerer=answerer)
