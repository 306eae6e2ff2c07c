"""Fine-tune the packaged all-MiniLM-L6-v2 on SQuAD train for question-to-answer-sentence similarity.

Usage: python bench/train_encoder.py [--data ../shared/train/squad-train.jsonl.gz] [--questions 24000]
           [--epochs 1] [--out build/encoder] [--checkpoint-every 100] [--seed 7] [--stop-after N]
           [--negatives 1] [--from MODEL_DIR]
       python bench/train_encoder.py --finalize CHECKPOINT_DIR --out DIR
The model lands in OUT/model (half precision, sentence-transformers format, with newsdesk-training.json); copy it
to newsdesk/encoder/ to ship it (and give it a new SHIPPED_NAME in newsdesk/adapters/encoders.py). A stopped run
started again with the same options resumes from OUT/checkpoint (--stop-after N pauses it there on purpose);
--finalize turns a checkpoint into a finished model. Progress with an ETA goes to stderr. Nothing of the
training file is copied anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsdesk.adapters.encoder_trainer import TrainConfig, finalize, train  # noqa: E402
from newsdesk.training.squad_pairs import make_examples, plan_batches, read_rows, subsample  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "train" / "squad-train.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD-style JSON lines (.gz or plain)")
    parser.add_argument("--questions", type=int, default=24000, help="how many questions to train on (0: all)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-length", type=int, default=64, help="tokens per text while training")
    parser.add_argument("--scale", type=float, default=20.0, help="cosine scale of the loss")
    parser.add_argument("--warmup", type=float, default=0.1, help="share of batches with a rising learning rate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--negatives", type=int, default=1, help="hard negatives per question (same paragraph first)")
    parser.add_argument("--from", dest="start", type=Path, help="go on training this model folder (default: the "
                        "packaged all-MiniLM-L6-v2)")
    parser.add_argument("--out", type=Path, default=Path("build/encoder"))
    parser.add_argument("--checkpoint-every", type=int, default=100, help="batches between checkpoints")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--stop-after", type=int, help="pause after this many batches (a checkpoint; run again to resume)")
    parser.add_argument("--finalize", type=Path, help="write OUT/model from this checkpoint folder, then stop")
    args = parser.parse_args()
    if args.finalize:
        progress = json.loads((args.finalize / "progress.json").read_text())
        model = finalize(args.finalize, args.out)
        record = {"config": progress["config"], "batches": progress["step"], "finalized_from": "checkpoint"}
        (model / "newsdesk-training.json").write_text(json.dumps(record, indent=2))
        print(json.dumps(record))
        return
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    started = time.monotonic()
    examples = make_examples(read_rows(args.data), seed=args.seed, negatives=args.negatives)
    chosen = subsample(examples, args.questions or None, seed=args.seed)
    plan = plan_batches(chosen, args.batch_size, args.epochs, seed=args.seed)
    print(f"{len(examples)} usable questions, training on {len(chosen)} for {args.epochs} epoch(s): {len(plan)} batches "
          f"({time.monotonic() - started:.0f} s to prepare)", file=sys.stderr, flush=True)
    config = TrainConfig(questions=len(chosen), epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                         max_length=args.max_length, scale=args.scale, warmup=args.warmup, seed=args.seed,
                         negatives=args.negatives, **({"base": str(args.start.resolve())} if args.start else {}))
    args.out.mkdir(parents=True, exist_ok=True)
    model = train(plan, config, args.out, args.checkpoint_every, stop_after=args.stop_after)
    if model is None:
        print(f"paused after batch {args.stop_after}: run the same command without --stop-after to resume",
              file=sys.stderr)
        return
    record = {"config": config.__dict__, "usable_questions": len(examples), "batches": len(plan),
              "seconds": round(time.monotonic() - started, 1), "data": args.data.name}
    (model / "newsdesk-training.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
