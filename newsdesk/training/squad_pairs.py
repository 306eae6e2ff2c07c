"""SQuAD train rows -> (question, answer sentence, hard negative) examples, grouped into batches by article."""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsdesk.errors import ConfigError
from newsdesk.ingest.sentences import split_sentences


@dataclass(frozen=True)
class Example:
    """One training question with the sentence of its paragraph that holds the answer and sentences that do not
    (`negative` first)."""
    question: str
    positive: str
    negative: str
    article: str
    more_negatives: tuple[str, ...] = ()

    @property
    def negatives(self) -> tuple[str, ...]:
        return (self.negative, *self.more_negatives)


@dataclass(frozen=True)
class Row:
    """One line of the training file."""
    id: str
    question: str
    context: str
    answers: tuple[str, ...]
    article: str


def read_rows(path: Path) -> Iterator[Row]:
    """Rows of a SQuAD-style JSON-lines file (gzip or plain): id, question, context, answers[]."""
    if not path.is_file():
        raise ConfigError(f"no training file at {path}: give the path of squad-train.jsonl.gz (../shared/train/)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for n, line in enumerate(lines, 1):
            try:
                raw = json.loads(line)
                yield Row(id=str(raw["id"]), question=str(raw["question"]).strip(), context=str(raw["context"]),
                          answers=tuple(str(a) for a in raw.get("answers") or ()), article=_article_of(raw))
            except (ValueError, KeyError, TypeError) as err:
                raise ConfigError(f"{path} line {n}: not a training row ({err}); each line needs id, question, "
                                  "context and answers") from None


def _article_of(raw: dict[str, object]) -> str:
    """The article a row's paragraph belongs to: SQuAD 1.1 ids carry the title; other rows group by source."""
    parts = str(raw["id"]).split("/")
    return parts[1] if len(parts) >= 4 else str(raw.get("source") or "unknown")


def make_examples(rows: Iterator[Row], seed: int, negatives: int = 1) -> list[Example]:
    """One example per answerable question whose answer lies inside one sentence of its paragraph.

    The negatives are other sentences of the same paragraph (the hardest kind: same topic, no answer), topped up
    from other paragraphs of the same article when the paragraph has too few; `negatives` of them (fewer when the
    article has fewer). With one negative the draw is the same as it always was.
    """
    rng = random.Random(seed)
    by_article: dict[str, list[tuple[Row, tuple[str, ...], int]]] = defaultdict(list)
    sentence_cache: dict[str, tuple[str, ...]] = {}
    for row in rows:
        if not row.answers or not row.question:
            continue
        sentences = sentence_cache.get(row.context)
        if sentences is None:
            sentences = tuple(s.text for s in split_sentences("train", row.context))
            sentence_cache[row.context] = sentences
        hit = answer_sentence(row.context, sentences, row.answers)
        if hit is not None:
            by_article[row.article].append((row, sentences, hit))
    examples = []
    for article, items in by_article.items():
        others = [s for _, sentences, _ in items for s in sentences]
        for row, sentences, hit in items:
            same = [s for i, s in enumerate(sentences) if i != hit]
            pool = same or [s for s in others if s not in sentences]
            if not pool:
                continue
            first = rng.choice(pool)
            more: tuple[str, ...] = ()
            if negatives > 1:
                rest = [s for s in same if s != first]
                rest = rng.sample(rest, min(len(rest), negatives - 1))
                if len(rest) < negatives - 1:
                    elsewhere = [s for s in dict.fromkeys(others) if s not in sentences]
                    rest += rng.sample(elsewhere, min(len(elsewhere), negatives - 1 - len(rest)))
                more = tuple(rest)
            examples.append(Example(row.question, sentences[hit], first, article, more))
    return examples


def answer_sentence(context: str, sentences: tuple[str, ...], answers: tuple[str, ...]) -> int | None:
    """Index of the first sentence that holds the first answer's first occurrence in full, or None."""
    for answer in answers:
        at = context.find(answer)
        if at < 0 or not answer.strip():
            continue
        for i, sentence in enumerate(sentences):
            if answer in sentence:
                return i
    return None


def subsample(examples: list[Example], count: int | None, seed: int) -> list[Example]:
    """`count` examples drawn at random (all when None or more than there are), in a fixed order for the seed."""
    chosen = list(examples)
    random.Random(seed).shuffle(chosen)
    return chosen if count is None else chosen[:count]


def plan_batches(examples: list[Example], batch_size: int, epochs: int, seed: int) -> list[list[Example]]:
    """Every epoch's batches, each drawn from one article so in-batch negatives are on the same topic.

    The plan depends only on the examples and the seed, so a resumed run skips exactly the batches it has done.
    """
    rng = random.Random(seed)
    by_article: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_article[example.article].append(example)
    plan: list[list[Example]] = []
    for _ in range(epochs):
        epoch: list[list[Example]] = []
        leftovers: list[Example] = []
        for article in sorted(by_article):
            items = list(by_article[article])
            rng.shuffle(items)
            full = len(items) - len(items) % batch_size
            epoch.extend(items[i : i + batch_size] for i in range(0, full, batch_size))
            leftovers.extend(items[full:])
        rng.shuffle(leftovers)
        epoch.extend(leftovers[i : i + batch_size] for i in range(0, len(leftovers), batch_size))
        rng.shuffle(epoch)
        plan.extend(b for b in epoch if len(b) > 1)
    return plan
