"""Secrets: ``{{ secrets.NAME }}`` in a definition, the value ``OPENRUNS_SECRET_NAME`` in the
worker's environment, and never the value in Temporal's history.

In the workflow a secret renders as a placeholder, ``⟦secret:NAME:NONCE⟧``, the nonce derived
from the Temporal run. The worker (``activities.secrets``) puts values in place of the run's
placeholders in an activity step's arguments just before the step runs — only for the names
the definition uses — and takes them back out of what the step returns or raises, where every
placeholder is also made inert (``⟦secret:NAME⟧``). So data (an email's body, a server's
answer) cannot make the worker fill in a secret: only the run's own templates can. A template
may only write a secret out as it is (``misuse``): anything else would see the placeholder.
Pure functions, deterministic, so the workflow can use them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

from jinja2 import nodes

ENV_PREFIX = "OPENRUNS_SECRET_"
_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,127}"
# ``secrets.NAME`` or ``secrets['NAME']`` / ``secrets["NAME"]`` anywhere in a template.
_REFERENCE = re.compile(rf"\bsecrets\s*(?:\.\s*({_NAME})\b|\[\s*(['\"])({_NAME})\2\s*\])", re.ASCII)
_PLACEHOLDER = re.compile(rf"\u27e6secret:({_NAME}):([0-9a-f]{{16}})\u27e7", re.ASCII)
_ANY_PLACEHOLDER = re.compile(rf"\u27e6secret:({_NAME}):[0-9a-f]{{16}}\u27e7", re.ASCII)
_NAME_ONLY = re.compile(_NAME, re.ASCII)
SHORTEST_REDACTED = 6  # a shorter value is not looked for in outputs (it would match anywhere)


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
                names = (m[0] or m[2] for m in _REFERENCE.findall(value))
                found.update(name for name in names if not hasattr(dict, name))
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


class SecretNotNamed(LookupError):
    """A placeholder names a secret the run's definition does not: it came from data."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the step's arguments hold a placeholder for secret {name!r}, which this "
            "process's definition does not name: it came in as data, and is not filled in"
        )


def substitute(
    value: Any, run_nonce: str, names: set[str], lookup: Callable[[str], str | None]
) -> tuple[Any, dict[str, str]]:
    """``value`` with each of this run's placeholders replaced by the secret's value (looked
    up by its environment variable's name), and the secrets used; ``SecretNotSet`` for one
    the environment lacks, ``SecretNotNamed`` for one the definition does not name (``names``).
    Placeholders of another nonce are left as they are."""
    used: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        name, its_nonce = match[1], match[2]
        if its_nonce != run_nonce:
            return match[0]
        if name not in names:
            raise SecretNotNamed(name)
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


def holds_placeholder(value: Any, run_nonce: str) -> bool:
    """Whether ``value`` holds a placeholder of this run (a secret on its way elsewhere)."""
    return f":{run_nonce}\u27e7" in json.dumps(value, ensure_ascii=False, default=str)


def deactivate(value: Any) -> Any:
    """``value`` with every live placeholder (any nonce) turned into ``shown(name)``: what a
    step returns or a run outputs can name a secret but never carry one into a later step."""

    def text(item: str) -> str:
        return (
            _ANY_PLACEHOLDER.sub(lambda m: shown(m[1]), item) if "\u27e6secret:" in item else item
        )

    return _walk(value, text)


def _forms(secret: str) -> set[str]:
    """How a value may come back: as it is, URL-encoded, inside a JSON string."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


def redact(value: Any, secrets: dict[str, str], *, cut_off: bool = False) -> Any:
    """``value`` with the secrets' values (``{name: value}``) replaced by ``shown(name)``:
    as they are, URL-encoded or JSON-escaped, or a number equal to one; longest first.
    ``cut_off`` (for error messages, which quote snippets): also the start of one at the end
    of a text. Values shorter than ``SHORTEST_REDACTED`` are not looked for."""
    pairs = sorted(
        {
            (form, shown(name))
            for name, secret in secrets.items()
            if len(secret) >= SHORTEST_REDACTED
            for form in _forms(secret)
        },
        key=lambda pair: -len(pair[0]),
    )
    if not pairs:
        return value
    numbers = {secret: shown(name) for name, secret in secrets.items()}

    def text(item: str) -> str:
        for secret, mark in pairs:
            if secret in item:
                item = item.replace(secret, mark)
        for secret, mark in pairs if cut_off else ():  # "…key=s3cr3t" where a message was cut
            for size in range(len(secret) - 1, SHORTEST_REDACTED - 1, -1):
                if item.endswith(secret[:size]):
                    return item[: len(item) - size] + mark
        return item

    def number(item: int | float) -> Any:
        return numbers.get(str(item), item)

    return _walk(value, text, number)


def _walk(
    value: Any, text: Callable[[str], str], number: Callable[[int | float], Any] | None = None
) -> Any:
    """``value`` with ``text`` applied to every string (keys too: a key that becomes another
    key's name is kept apart with a ``#2`` suffix) and ``number`` to every number."""

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return text(item)
        if isinstance(item, bool) or item is None:
            return item
        if isinstance(item, int | float):
            return number(item) if number else item
        if isinstance(item, dict):
            out: dict[Any, Any] = {}
            for key, inner in item.items():
                new_key = walk(key) if isinstance(key, str) else key
                while new_key in out:
                    new_key = f"{new_key}#2"
                out[new_key] = walk(inner)
            return out
        if isinstance(item, list | tuple):
            return [walk(inner) for inner in item]
        return item

    return walk(value)


# Where a template may name a secret, and how: written out as it is (``{{ secrets.X }}``, or
# joined to text with ``~``). A filter, test, call or comparison would see the placeholder.
_AS_TEXT = (nodes.Output, nodes.Concat)
USAGE = (
    "a secret is written out as it is: {{ secrets.NAME }}, or joined to text with ~ "
    '("Bearer " ~ secrets.NAME); a filter, test, call or comparison would see its '
    "placeholder, not its value"
)


def misuse(tree: nodes.Template) -> str | None:
    """Why a template's use of ``secrets`` cannot work, or None (see ``USAGE``)."""

    def visit(node: nodes.Node, as_text: bool) -> str | None:
        if isinstance(node, nodes.Getattr | nodes.Getitem) and (
            isinstance(node.node, nodes.Name) and node.node.name == "secrets"
        ):
            name = (
                node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            )
            if not isinstance(name, str) or not _NAME_ONLY.fullmatch(name) or hasattr(dict, name):
                return (
                    "secrets are named as secrets.NAME or secrets['NAME'], NAME of letters, "
                    "digits and _ (not starting with a digit)"
                )
            return None if as_text else USAGE
        if isinstance(node, nodes.Name) and node.name == "secrets":
            return "secrets are named one at a time: secrets.NAME"
        for child in node.iter_child_nodes():
            problem = visit(child, isinstance(node, _AS_TEXT))
            if problem:
                return problem
        return None

    return visit(tree, False)
