"""Question sets for fitting the evidence and abstention weights on public data (SQuAD train), never on NewsQA.

Usage: python bench/squad_fit_sets.py [--data ../shared/train/squad-train.jsonl.gz] [--out build/squad-fit]
           [--articles 24] [--per-article 25] [--held-out 0.3] [--trained 24000] [--seed 11]
Writes two sets in the eval format (corpus.jsonl, questions.jsonl), each from its own SQuAD 1.1 train articles
(one document per paragraph, titled with its article):
- OUT/squad-train-answerable: every paragraph of its articles stored, every question answerable there;
- OUT/squad-train-mixed: a share (--held-out) of each article's paragraphs left out of the corpus, so their questions are asked
  where the other paragraphs of the same article are present and nothing answers them (answerable: false).
Questions the encoder was trained on (bench/train_encoder.py's first --trained of its seeded draw) are skipped.
The sets go to build/ (not the repository): they are derived from CC BY-SA data that stays outside it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.training.squad_pairs import Row, make_examples, read_rows, subsample  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "train" / "squad-train.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("build/squad-fit"))
    parser.add_argument("--articles", type=int, default=24, help="articles per set")
    parser.add_argument("--per-article", type=int, default=25, help="questions per article")
    parser.add_argument("--held-out", type=float, default=0.3, help="share of the mixed set's paragraphs left out")
    parser.add_argument("--trained", type=int, default=24000, help="the encoder's --questions (skipped here)")
    parser.add_argument("--train-seed", type=int, default=7, help="the encoder's --seed")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rows = [r for r in read_rows(args.data) if r.id.startswith("squad11-train/")]
    trained = {e.question for e in subsample(make_examples(iter(rows), args.train_seed), args.trained or None,
                                             args.train_seed)}
    by_article: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_article[row.article].append(row)
    rng = random.Random(args.seed)
    titles = sorted(by_article)
    rng.shuffle(titles)
    for name, chosen, held_out in (("squad-train-answerable", titles[: args.articles], 0.0),
                                   ("squad-train-mixed", titles[args.articles : 2 * args.articles], args.held_out)):
        docs, questions = [], []
        for title in chosen:
            paragraphs = sorted({_paragraph(r) for r in by_article[title]}, key=int)
            left_out = set(rng.sample(paragraphs, int(len(paragraphs) * held_out)))
            contexts = {_paragraph(r): r.context for r in by_article[title]}
            docs += [{"id": f"{title}/{p}", "title": title.replace("_", " "), "text": contexts[p], "url": None,
                      "published_at": None, "source": "Wikipedia"} for p in paragraphs if p not in left_out]
            fresh = [r for r in by_article[title] if r.question not in trained and r.answers]
            for r in rng.sample(fresh, min(args.per_article, len(fresh))):
                present = _paragraph(r) not in left_out
                questions.append({"id": r.id, "question": r.question, "answers": list(r.answers) if present else [],
                                  "evidence": [{"doc_id": f"{title}/{_paragraph(r)}", "sentence": None}] if present else [],
                                  "answerable": present, "type": None,
                                  "context_doc_id": title})  # cross-validation folds by article
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / "corpus.jsonl", docs)
        _write(folder / "questions.jsonl", questions)
        print(f"{folder}: {len(docs)} paragraphs, {len(questions)} questions "
              f"({sum(not q['answerable'] for q in questions)} with their paragraph left out)")


def _paragraph(row: Row) -> str:
    return row.id.split("/")[2]


def _write(path: Path, items: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")


if __name__ == "__main__":
    main()
