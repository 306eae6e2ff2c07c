"""Prompt templates: data files in prompts/ with named {variables}, rendered strictly."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from newsdesk.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


@dataclass(frozen=True)
class Template:
    """One prompt file; `render` needs exactly the variables the file names."""

    name: str
    text: str
    variables: frozenset[str]

    def render(self, **values: object) -> str:
        """The prompt with every variable filled; a missing one is an error."""
        missing = self.variables - values.keys()
        unknown = values.keys() - self.variables
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"missing {sorted(missing)}")
            if unknown:
                problems.append(f"unknown {sorted(unknown)}")
            raise ConfigError(
                f"prompt {self.name!r} cannot render: {'; '.join(problems)} variable(s); "
                f"it takes exactly {sorted(self.variables)}"
            )
        # str.format substitutes in one pass, so braces inside values are never re-read as fields.
        return self.text.format_map({k: str(v) for k, v in values.items()})


def parse(name: str, text: str) -> Template:
    """Check a template's fields: each must be a plain name with no conversion or format spec."""
    variables: set[str] = set()
    try:
        fields = [(f, conv, spec) for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"prompt {name!r} is malformed ({exc}): write literal braces as {{{{ and }}}}") from None
    for field_name, conversion, spec in fields:
        if not field_name.isidentifier() or conversion or spec:
            raise ConfigError(f"prompt {name!r} has a bad field {{{field_name}}}: use plain {{name}} variables")
        variables.add(field_name)
    return Template(name, text, frozenset(variables))


@lru_cache(maxsize=32)
def load(name: str, directory: Path = PROMPTS_DIR) -> Template:
    """The template prompts/<name>.txt, parsed once per process."""
    path = directory / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(f"prompt file {path} is missing: it ships in the prompts/ folder of the project") from None
    return parse(name, text.rstrip("\n"))


def names(directory: Path = PROMPTS_DIR) -> list[str]:
    """Every template in the folder, for checks and tests."""
    return sorted(p.stem for p in directory.glob("*.txt"))
