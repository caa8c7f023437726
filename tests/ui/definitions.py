"""Process definitions the browser tests run."""

from __future__ import annotations

GREETER = {
    "description": "Greets someone, taking its time.",
    "inputs": {
        "who": {"type": "string", "required": True, "description": "Who to greet."},
        "excited": {"type": "boolean", "default": False},
        "tone": {"type": "string", "enum": ["warm", "formal"], "default": "warm"},
    },
    "steps": [
        {"id": "think", "uses": "sleep", "with": {"seconds": 2}},
        {"id": "greet", "uses": "set",
         "with": {"text": "hello {{ inputs.who }}{{ '!' if inputs.excited else '' }}"}},
    ],
    "outputs": {"greeting": "{{ steps.greet.text }}"},
}  # fmt: skip


def doubler(factor: int = 2) -> dict:
    """Doubles ``n`` (or multiplies it by ``factor``: the draft after a bad edit)."""
    return {
        "inputs": {"n": {"type": "number", "required": True}},
        "steps": [
            {"id": "guard", "uses": "fail", "if": "{{ inputs.n < 0 }}",
             "with": {"message": "negative numbers are not allowed"}},
            {"id": "calc", "uses": "set", "with": {"double": f"{{{{ inputs.n * {factor} }}}}"}},
        ],
        "outputs": {"double": "{{ steps.calc.double }}", "n": "{{ inputs.n }}"},
    }  # fmt: skip
