"""Secrets: ``{{ secrets.NAME }}`` in a definition, the value ``OPENRUNS_SECRET_NAME`` in the
worker's environment, and never the value in Temporal's history.

In the workflow a secret renders as a placeholder, ``⟦secret:NAME:NONCE⟧``; the worker puts the
value in its place only in an activity step's arguments, just before the step runs
(``activities.secrets``), and writes the placeholder back wherever the value shows up in the
step's output or error. The nonce is derived from the Temporal run that rendered it, so text
that arrives as data (an email's body, say) cannot name a secret: only the run's own templates
can. Pure functions, deterministic, so the workflow can use them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

ENV_PREFIX = "OPENRUNS_SECRET_"
_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,127}"
# ``secrets.NAME`` or ``secrets['NAME']`` / ``secrets["NAME"]`` anywhere in a template.
_REFERENCE = re.compile(rf"\bsecrets\s*(?:\.\s*({_NAME})\b|\[\s*(['\"])({_NAME})\2\s*\])", re.ASCII)
_PLACEHOLDER = re.compile(rf"\u27e6secret:({_NAME}):([0-9a-f]{{16}})\u27e7", re.ASCII)
SHORTEST_REDACTED = 4  # a shorter value is not looked for in outputs (it would match anywhere)


class SecretNotSet(LookupError):
    """A step's arguments name a secret the worker's environment does not hold."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"secret {name!r} is not set on this worker: set {ENV_PREFIX}{name} in the "
            "environment of every worker"
        )
        self.name = name


def references(definition: Any) -> set[str]:
    """The secret names a definition's templates use (``secrets.X``, ``secrets['X']``)."""
    found: set[str] = set()
    stack = [definition]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "secrets" in value:
                found.update(m[0] or m[2] for m in _REFERENCE.findall(value))
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def nonce(run_key: str) -> str:
    """The nonce of the placeholders one Temporal run renders (``run_key``: its run id)."""
    return hashlib.sha256(f"openruns-secrets:{run_key}".encode()).hexdigest()[:16]


def placeholder(name: str, run_nonce: str) -> str:
    return f"\u27e6secret:{name}:{run_nonce}\u27e7"


def shown(name: str) -> str:
    """What a secret's value is replaced with in a step's output or error."""
    return f"\u27e6secret:{name}\u27e7"


def substitute(
    value: Any, run_nonce: str, lookup: Callable[[str], str | None]
) -> tuple[Any, dict[str, str]]:
    """``value`` with each of this run's placeholders replaced by the secret's value (looked
    up by its environment variable's name), and the secrets used; ``SecretNotSet`` for one
    the environment lacks. Placeholders of another nonce are left as they are."""
    used: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        name, its_nonce = match[1], match[2]
        if its_nonce != run_nonce:
            return match[0]
        if name not in used:
            secret = lookup(ENV_PREFIX + name)
            if secret is None:
                raise SecretNotSet(name)
            used[name] = secret
        return used[name]

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _PLACEHOLDER.sub(replace, item) if "\u27e6secret:" in item else item
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        return item

    return walk(value), used


def redact(value: Any, used: dict[str, str]) -> Any:
    """``value`` with every occurrence of a used secret's value replaced by ``shown(name)``
    (longest values first, so one secret inside another is not half replaced)."""
    pairs = sorted(
        (
            (secret, shown(name))
            for name, secret in used.items()
            if len(secret) >= SHORTEST_REDACTED
        ),
        key=lambda pair: -len(pair[0]),
    )
    if not pairs:
        return value

    def text(item: str) -> str:
        for secret, mark in pairs:
            if secret in item:
                item = item.replace(secret, mark)
        return item

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return text(item)
        if isinstance(item, dict):
            return {walk(key): walk(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [walk(inner) for inner in item]
        return item

    return walk(value)
