"""Group sentences into overlapping, sentence-aligned chunks."""

from __future__ import annotations

from newsdesk.models import Chunk, Sentence


def make_chunks(text: str, sentences: tuple[Sentence, ...], size: int, overlap: int) -> tuple[Chunk, ...]:
    """Windows of `size` sentences that share `overlap` sentences with the previous window."""
    if not sentences:
        return ()
    step = size - overlap
    chunks = []
    for index, first in enumerate(range(0, max(len(sentences) - overlap, 1), step)):
        window = sentences[first : first + size]
        spans = tuple((s.start, s.end) for s in window)
        chunks.append(
            Chunk(
                article_id=window[0].article_id,
                index=index,
                sentence_spans=spans,
                text=text[spans[0][0] : spans[-1][1]],
            )
        )
    return tuple(chunks)
