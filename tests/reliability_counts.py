"""Counts of what the reliability tests tried and how each case ended, printed at the end of the run."""

from __future__ import annotations

from collections import Counter, defaultdict

# door ("handler.chat", "newsdesk serve", ...) -> outcome ("2xx", "4xx", "5xx", "exception", "dropped", ...) -> cases
COUNTS: defaultdict[str, Counter[str]] = defaultdict(Counter)
ORDER = ("2xx", "3xx", "4xx", "5xx", "exception", "dropped", "html", "not json", "not http")


def record(door: str, outcome: str) -> None:
    COUNTS[door][outcome] += 1


def expect(door: str, *outcomes: str) -> None:
    """Show these outcomes in the summary even when no case ended that way (e.g. 'dropped 0')."""
    for outcome in outcomes:
        COUNTS[door][outcome] += 0


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else f"status {status}"


def summary_lines() -> list[str]:
    """One line per door: cases tried, then every outcome class (the bad ones always shown, even at 0)."""
    lines = []
    for door, counts in sorted(COUNTS.items()):
        shown = [k for k in ORDER if k in counts or k in {"5xx", "exception"}]
        shown += sorted(k for k in counts if k not in ORDER)
        lines.append(f"{door}: {sum(counts.values())} cases: " + ", ".join(f"{k} {counts[k]}" for k in shown))
    return lines
