"""Fitted weights shipped as JSON beside the code (never pickled), checked against the names they were fitted for."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.errors import ConfigError


def load_weights(path: Path, key: str, names: Sequence[str], refit: str, dtype: type = np.float32) -> np.ndarray:
    """The weights in `path`, one per name of `names` (listed under `key` in the file); `refit` says how to redo it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data[key]) != tuple(names) or len(data["weights"]) != len(names):
        raise ConfigError(f"{path} holds weights for {data[key]}, not for {tuple(names)}: refit with `{refit}`")
    return np.array(data["weights"], dtype)


def recorded_figures(path: Path) -> dict[str, Any]:
    """The in-sample and cross-validated figures the fit stored beside the weights in `path` (empty when none)."""
    figures: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("figures", {})
    return figures
