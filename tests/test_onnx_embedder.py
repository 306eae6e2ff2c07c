"""The ONNX embedder matches sentence-transformers, and the query path runs on it without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from newsdesk.ingest.load import load_paths
from newsdesk.ingest.sentences import split_sentences

from newsdesk.adapters.encoders import encoder_model
from newsdesk.adapters.onnx_embedder import OnnxEmbedder
from newsdesk.adapters.st_embedder import SentenceTransformerEmbedder
from newsdesk.app import build_service, index_blobs
from newsdesk.errors import ConfigError
from newsdesk.models import Article
from newsdesk.settings import DEFAULTS, Settings
from newsdesk.snapshots.snapshots import publish
from tests.conftest import EXAMPLES, ROOT
from tests.moto_fixtures import FAKE_AWS

pytestmark = pytest.mark.model
HEAVY = ("torch", "sentence_transformers", "transformers", "langchain_core", "trafilatura")


@pytest.fixture(scope="module", autouse=True)
def aws_variables_restored() -> Iterator[None]:
    """The fake AWS credentials these tests use must not outlive the module: later tests would run with them."""
    before = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    yield
    after = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    assert after == before, "a test here changed AWS_* variables without monkeypatch"


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from newsdesk.adapters.onnx_export import export_onnx

    return export_onnx(tmp_path_factory.mktemp("onnx") / "model", encoder_model(DEFAULTS.model))


def sample_texts() -> list[str]:
    """A few hundred real sentences and passages from the sample articles, in several shapes."""
    articles = [a for a in load_paths([str(EXAMPLES)]) if isinstance(a, Article)]
    sentences = [s.text for a in articles for s in split_sentences(a.id, a.text)]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
    texts = sentences + pairs + [s.upper() for s in sentences] + [s[: len(s) // 2] for s in sentences]
    texts += [s.lower() for s in sentences] + [f"{a.title}\n{s.text}" for a in articles for s in split_sentences(a.id, a.text)]
    texts += [s[len(s) // 2 :] for s in sentences] + [" ".join(sentences[i : i + 3]) for i in range(len(sentences) - 2)]
    texts += [a.text for a in articles]  # whole articles: longer than the 256-token window, so truncated
    texts += ["", "?", "Where?", "naïve café – 50% off — “quoted” 東京"]
    return texts


def test_vectors_match_sentence_transformers(onnx_dir: Path) -> None:
    texts = sample_texts()
    assert len(texts) >= 200
    float_onnx = OnnxEmbedder(onnx_dir, batch_size=16)
    onnx = float_onnx.embed(texts)
    st = SentenceTransformerEmbedder(encoder_model(DEFAULTS.model))
    reference = st.embed(texts)
    assert onnx.shape == reference.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    cosines = (onnx * reference).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.999, f"cosine {cosines.min():.5f} for {texts[worst][:80]!r}"
    assert float_onnx.name == st.name  # stored indexes stay valid across the two


def test_a_text_gets_the_same_vector_alone_or_in_any_batch(onnx_dir: Path) -> None:
    texts = sample_texts()[:120]
    embedder = OnnxEmbedder(onnx_dir, batch_size=16)
    together = embedder.embed(texts)
    shuffled = embedder.embed(texts[::-1])[::-1]
    alone = np.vstack([embedder.embed([t]) for t in texts[:20]])
    assert np.allclose(together, shuffled, atol=1e-5) and np.allclose(together[:20], alone, atol=1e-5)


def test_int8_export_is_close_to_float_under_its_own_name(onnx_dir: Path) -> None:
    texts = sample_texts()
    exact = OnnxEmbedder(onnx_dir).embed(texts)
    int8 = OnnxEmbedder(onnx_dir, int8=True)
    cosines = (int8.embed(texts) * exact).sum(axis=1)
    assert cosines.mean() >= 0.99 and cosines.min() >= 0.95, (cosines.mean(), cosines.min())
    assert int8.name == OnnxEmbedder(onnx_dir).name + "-int8"  # other vectors: an index made by float is refused
    assert (onnx_dir / "model-int8.onnx").stat().st_size < (onnx_dir / "model.onnx").stat().st_size / 2


def test_auto_uses_the_export_when_it_exists(onnx_dir: Path, tmp_path: Path) -> None:
    from newsdesk.app import build_embedder

    assert isinstance(build_embedder(Settings.from_env({}, onnx_dir=onnx_dir)), OnnxEmbedder)
    fallback = build_embedder(Settings.from_env({}, onnx_dir=tmp_path / "never-exported"))
    assert isinstance(fallback, SentenceTransformerEmbedder)


def test_missing_export_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="newsdesk export-onnx"):
        OnnxEmbedder(tmp_path / "nowhere")


@pytest.mark.server
@pytest.mark.usefixtures("aws_env")  # the fake credentials, for this test only
def test_lambda_query_path_answers_from_s3_without_torch(onnx_dir: Path, moto_url: str, tmp_path: Path) -> None:
    """Index built with sentence-transformers, published to S3; a fresh process answers with ONNX only."""
    local = Settings.from_env({}, store=tmp_path / "index", embedder="sentence-transformers")
    service = build_service(local)
    assert service.ingest(load_paths([str(EXAMPLES)])).failed == 0
    service.store.client.close()  # type: ignore[attr-defined]
    boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").create_bucket(Bucket="onnx-index")
    publish(index_blobs(Settings.from_env({}, index_bucket="onnx-index", s3_endpoint_url=moto_url)), tmp_path / "index")

    script = (
        "import json, sys, handler\n"
        "event = {'rawPath': '/chat', 'requestContext': {'http': {'method': 'POST'}}, 'body': sys.argv[1]}\n"
        "response = handler.chat(event, None)\n"
        f"print(json.dumps({{'response': response, 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    (tmp_path / "empty-tmp").mkdir()
    # The float export: its vectors are sentence-transformers' (the int8 model's differ, and an index made by
    # another model is refused).
    env = {**os.environ, **FAKE_AWS, "TMPDIR": str(tmp_path / "empty-tmp"), "NEWSDESK_EMBEDDER": "onnx",
           "NEWSDESK_ONNX_INT8": "false",
           "NEWSDESK_ONNX_DIR": str(onnx_dir), "NEWSDESK_INDEX_BUCKET": "onnx-index", "NEWSDESK_S3_ENDPOINT_URL": moto_url}
    question = json.dumps({"question": "How many homes lost power in the storm?"})
    done = subprocess.run([sys.executable, "-c", script, question], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    body = json.loads(out["response"]["body"])
    assert out["response"]["statusCode"] == 200 and not body["abstained"]
    assert any("homes" in c["sentence"] for c in body["citations"])
