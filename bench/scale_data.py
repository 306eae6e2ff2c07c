"""Articles for bench/scale.py: real stories embedded once, then copied under new ids with light changes.

Embedding 50,000 articles takes hours here, and what the scale benchmark measures is the index machinery,
not the encoder. So a few hundred real stories (NewsQA's when given ../shared/eval, else the bundled examples)
go through the real ingest pipeline once; each synthetic article is one of them under a new id with some
words replaced by made-up words of the same length (new terms for the lexical index; offsets stay valid),
other digits, another outlet and date, and its sentence vectors moved a little (Gaussian noise, renormalised).
Chunks and chunk vectors are made as ingest makes them (5-sentence windows, mean direction of their sentences).
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from newsdesk.ingest.chunk import make_chunks
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.pipeline import ChunkConfig, Ingestor

from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.models import Article, IndexedArticle, Matrix, Sentence
from newsdesk.ports import Embedder, VectorStore

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "articles"
OUTLETS = ("Harbor Gazette", "Valley Courier", "Regional Wire", "Metro Daily", "Coast Times", "CNN")
NOISE = 0.01  # per component, on 384-dimension unit vectors: each copy is about 0.98 cosine from its original
CHUNKS = ChunkConfig()


@dataclass(frozen=True)
class Template:
    """A real article with its real sentence vectors."""

    article: Article
    sentences: tuple[Sentence, ...]
    vectors: Matrix


def corpus_path(eval_dir: Path | None) -> Path:
    if eval_dir is not None and (eval_dir / "newsqa" / "corpus.jsonl").is_file():
        return eval_dir / "newsqa" / "corpus.jsonl"
    return EXAMPLES


def embed_templates(source: Path, embedder: Embedder, limit: int | None, cache: Path | None) -> list[Template]:
    """Run the real ingest pipeline over `source` into memory; cached as .npy + JSON (data only) by content."""
    articles = [a for a in load_paths([str(source)]) if isinstance(a, Article)][:limit]
    key = hashlib.sha256(json.dumps([embedder.name, [a.fingerprint() for a in articles]]).encode()).hexdigest()[:16]
    if cache is not None and (cache / f"{key}.json").is_file():
        return _read_cache(cache, key, articles)
    store = MemoryStore()
    Ingestor(embedder, store, CHUNKS).run(articles)
    templates = templates_from(store, articles)
    if cache is not None:
        _write_cache(cache, key, templates)
    return templates


def templates_from(store: VectorStore, articles: Sequence[Article] | None = None) -> list[Template]:
    """Templates from any store (e.g. an existing index: `--vectors-from`), without embedding anything."""
    listed = list(store.iter_articles())
    if articles is not None:
        wanted = {a.id for a in articles}
        listed = [(a, v) for a, v in listed if a.id in wanted]
    out = []
    for article, version in listed:
        stored = store.sentences({article.id: version})
        if stored:
            out.append(Template(article, tuple(s.sentence for s in stored), np.stack([s.vector for s in stored])))
    return out


def synthetic(templates: Sequence[Template], start: int, count: int, seed: int = 0) -> Iterator[IndexedArticle]:
    """Articles `scale-<start>` .. `scale-<start+count-1>`, each a lightly changed copy of a template."""
    for number in range(start, start + count):
        rnd = random.Random(f"{seed}-{number}")
        template = templates[number % len(templates)]
        yield _copy(template, f"scale-{number:06d}", rnd, np.random.default_rng(rnd.getrandbits(32)))


def as_jsonl(items: Sequence[IndexedArticle]) -> bytes:
    """Articles as an S3 upload would hold them (what the S3 writer reads)."""
    rows = [{"id": i.article.id, "title": i.article.title, "text": i.article.text, "source": i.article.outlet,
             "published_at": i.article.published_at, "url": i.article.url} for i in items]
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def _copy(template: Template, article_id: str, rnd: random.Random, noise: np.random.Generator) -> IndexedArticle:
    text = _perturb(template.article.text, rnd)
    article = Article(article_id, text, template.article.title, f"https://news.example/{article_id}",
                      rnd.choice(OUTLETS), f"20{rnd.randint(10, 24):02d}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}")
    sentences = tuple(Sentence(article_id, s.index, s.start, s.end, text[s.start : s.end]) for s in template.sentences)
    vectors = template.vectors + noise.normal(0.0, NOISE, template.vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = make_chunks(text, sentences, CHUNKS.sentences, CHUNKS.overlap)
    first = {s.start: row for row, s in enumerate(sentences)}
    chunk_vectors = np.stack([_direction(vectors[first[c.start] : first[c.start] + len(c.sentence_spans)])
                              for c in chunks])
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return IndexedArticle(article, version, sentences, vectors.astype(np.float32), chunks, chunk_vectors,
                          _direction(chunk_vectors))


def _perturb(text: str, rnd: random.Random) -> str:
    """Same length, so every offset stays valid: a few longer words become made-up words, digits change."""
    chars = list(text)
    words = [(i, j) for i, j in _words(text) if j - i >= 5]
    for i, j in rnd.sample(words, min(len(words), 6)):
        chars[i:j] = rnd.choices(string.ascii_lowercase, k=j - i)
    return "".join(rnd.choice(string.digits) if c.isdigit() else c for c in chars)


def _words(text: str) -> list[tuple[int, int]]:
    out, start = [], None
    for i, c in enumerate(text + " "):
        if c.isalpha() and c.isascii():
            start = i if start is None else start
        elif start is not None:
            out.append((start, i))
            start = None
    return out


def _direction(vectors: Matrix) -> Matrix:
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm else mean).astype(np.float32)


def _write_cache(cache: Path, key: str, templates: Sequence[Template]) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    np.save(cache / f"{key}.npy", np.concatenate([t.vectors for t in templates]), allow_pickle=False)
    rows = [{"article": {"id": t.article.id, "text": t.article.text, "title": t.article.title},
             "spans": [[s.index, s.start, s.end] for s in t.sentences]} for t in templates]
    (cache / f"{key}.json").write_text(json.dumps(rows), encoding="utf-8")


def _read_cache(cache: Path, key: str, articles: Sequence[Article]) -> list[Template]:
    vectors = np.load(cache / f"{key}.npy", allow_pickle=False)
    by_id = {a.id: a for a in articles}
    out, row = [], 0
    for entry in json.loads((cache / f"{key}.json").read_text(encoding="utf-8")):
        article = by_id[entry["article"]["id"]]
        sentences = tuple(Sentence(article.id, i, s, e, article.text[s:e]) for i, s, e in entry["spans"])
        out.append(Template(article, sentences, vectors[row : row + len(sentences)]))
        row += len(sentences)
    return out
