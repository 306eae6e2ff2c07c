"""Training the question-to-sentence encoder on public QA data (SQuAD train): examples, batches, the run's plan.

Pure Python apart from the trainer adapter (`newsdesk.adapters.encoder_trainer`), which alone imports torch.
"""
