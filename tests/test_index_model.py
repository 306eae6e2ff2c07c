"""An index remembers which model made it: another model refuses it and says how to rebuild; reindex rebuilds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.pipeline import ChunkConfig

from newsdesk.adapters.encoders import SHIPPED_DIR, SHIPPED_NAME, encoder_model
from newsdesk.adapters.hash_embedder import HashEmbedder
from newsdesk.adapters.memory_store import MemoryStore
from newsdesk.cli import cli
from newsdesk.errors import ConfigError, IndexModelMismatch
from newsdesk.index.made_by import check_made_by
from newsdesk.service import Service
from tests.conftest import EXAMPLES


def test_an_index_is_checked_against_the_model_that_made_it() -> None:
    store = MemoryStore()
    check_made_by(store, "any-model", ChunkConfig())  # an empty index fits every model
    Service(HashEmbedder(), store).ingest(load_paths([str(EXAMPLES)]))
    check_made_by(store, HashEmbedder.name, ChunkConfig())
    with pytest.raises(IndexModelMismatch, match=r"made by the hash-v2 model.*newsdesk reindex") as err:
        check_made_by(store, "newsdesk-qa-minilm-v9", ChunkConfig(), known=("hash-v2",))
    assert "NEWSDESK_MODEL" in str(err.value) and "newsdesk publish" in str(err.value)
    with pytest.raises(IndexModelMismatch, match="another model or other chunk settings"):
        check_made_by(store, HashEmbedder.name, ChunkConfig(sentences=7))
    # the same model's int8 export made it: say how to embed as it was made
    with pytest.raises(IndexModelMismatch, match=r"made by hash-v2, .* embeds with hash-v2-int8: the same model.*"
                                                 r"NEWSDESK_EMBEDDER=sentence-transformers"):
        check_made_by(store, "hash-v2-int8", ChunkConfig(), known=("hash-v2",))


def test_the_shipped_model_loads_from_the_repository(real_embedder: Any) -> None:
    assert encoder_model("newsdesk-qa").path == SHIPPED_DIR and real_embedder.name == SHIPPED_NAME
    assert (SHIPPED_DIR / "model.safetensors").stat().st_size < 50_000_000 and (SHIPPED_DIR / "MODEL_CARD.md").is_file()

    question, answer, other = real_embedder.embed([
        "How many homes lost power?",
        "The storm knocked out power to about 12,000 homes overnight, the utility said.",
        "The library reopened with a new children's wing.",
    ])
    assert float(question @ answer) > float(question @ other) + 0.2


def test_a_model_setting_that_names_nothing_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="newsdesk-qa, all-MiniLM-L6-v2 or a sentence-transformers model folder"):
        encoder_model(str(tmp_path / "nowhere"))


@pytest.mark.model
def test_another_model_refuses_the_index_until_reindex(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Made by the base model, asked with the shipped one: a clear refusal (exit 2), then `newsdesk reindex`."""
    runner = CliRunner()
    store = tmp_path / "index"
    base = {"NEWSDESK_STORE": str(store), "NEWSDESK_MODEL": "all-MiniLM-L6-v2"}
    made = runner.invoke(cli, ["ingest", str(EXAMPLES)], env=base, catch_exceptions=False)
    assert made.exit_code == 0, made.output
    env = {"NEWSDESK_STORE": str(store)}
    refused = runner.invoke(cli, ["ask", "How many homes lost power in the storm?"], env=env, catch_exceptions=False)
    assert refused.exit_code == 2
    assert "made by the all-MiniLM-L6-v2 model" in refused.output and "newsdesk reindex" in refused.output
    also = runner.invoke(cli, ["ingest", str(EXAMPLES)], env=env, catch_exceptions=False)
    assert also.exit_code == 2 and "newsdesk reindex" in also.output  # no mixing through ingest either
    rebuilt = runner.invoke(cli, ["reindex"], env=env, catch_exceptions=False)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"reindexed with {SHIPPED_NAME}: added 0, updated 6, unchanged 0, failed 0" in rebuilt.output
    answered = runner.invoke(cli, ["ask", "--json", "How many homes lost power in the storm?"], env=env,
                             catch_exceptions=False)
    assert answered.exit_code == 0 and '"abstained": false' in answered.output
    again = runner.invoke(cli, ["reindex"], env=env, catch_exceptions=False)
    assert "updated 0, unchanged 6" in again.output  # safe to re-run
