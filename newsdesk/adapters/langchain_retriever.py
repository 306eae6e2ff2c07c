"""Newsdesk as a LangChain retriever, and the answer chain (retriever -> prompt -> chat model) built on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough

from newsdesk.answer.generative import label, number_sources, render_messages
from newsdesk.answer.pipeline import QuestionPipeline
from newsdesk.models import Citation, Filters, Query


class NewsdeskRetriever(BaseRetriever):
    """Verified evidence sentences as Documents whose metadata is enough to render a citation.

    `search` maps a question to numbered sources; `over_pipeline` searches a Newsdesk question pipeline
    (`service.pipeline`).
    """

    search: Callable[[str], Sequence[Citation]]

    @classmethod
    def over_pipeline(cls, pipeline: QuestionPipeline, k: int = 3, filters: Filters | None = None) -> NewsdeskRetriever:
        def search(question: str) -> list[Citation]:
            evidence = pipeline.evidence(Query(question, k=k, filters=filters or Filters()))
            return number_sources(evidence, k)[0] if evidence.supported else []

        return cls(search=search)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(source) for source in self.search(query)]


def to_document(source: Citation) -> Document:
    return Document(
        page_content=source.sentence,
        id=f"{source.article_id}:{source.start}-{source.end}",
        metadata={
            "label": label(source),
            "n": source.n,
            "article_id": source.article_id,
            "url": source.url,
            "title": source.title,
            "outlet": source.outlet,
            "published_at": source.published_at,
            "start": source.start,
            "end": source.end,
            "score": source.score,
        },
    )


def to_source(document: Document) -> Citation:
    m = document.metadata
    return Citation(
        n=int(m["n"]), article_id=str(m["article_id"]), title=m.get("title"), url=m.get("url"),
        outlet=m.get("outlet"), published_at=m.get("published_at"), sentence=document.page_content,
        start=int(m["start"]), end=int(m["end"]), score=float(m.get("score") or 0.0),
    )


def _messages(inputs: dict[str, Any]) -> list[SystemMessage | HumanMessage]:
    system, user = render_messages(inputs["question"], [to_source(d) for d in inputs["documents"]])
    return [SystemMessage(content=system), HumanMessage(content=user)]


def build_answer_chain(retriever: BaseRetriever, llm: BaseChatModel) -> Runnable[str, dict[str, Any]]:
    """question -> {"question", "documents", "message"}: the model's reply and the documents it was shown."""
    gather: Runnable[str, dict[str, Any]] = RunnableParallel(question=RunnablePassthrough(), documents=retriever)
    return gather | RunnablePassthrough.assign(message=RunnableLambda(_messages) | llm)
