"""The Run form: one field per declared input (type, required, default, enum), and the
conversion of what the browser sends back into run inputs.

Values are converted by type here only as far as HTML forms need it (text to number, boolean,
JSON); checking them against the declaration is ``resolve_inputs``' job, as for the API.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.datastructures import FormData, UploadFile

from openruns.definition.model import Definition, InputSpec

FIELD_PREFIX = "input."


@dataclass
class InputField:
    """What a template needs to render one input control."""

    name: str
    type: str
    widget: str  # text, number, integer, boolean, select, json, file
    required: bool
    value: str = ""
    description: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (JSON value, label)
    error: str | None = None

    @property
    def form_name(self) -> str:
        return FIELD_PREFIX + self.name


def _as_text(spec: InputSpec, value: Any) -> str:
    if value is None:
        return ""
    if spec.enum is not None:
        return compact(value)
    if spec.type in ("object", "array"):
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    if spec.type == "boolean":
        return "true" if value else "false"
    return str(value)


def compact(value: Any) -> str:
    return orjson.dumps(value).decode()


def _widget(spec: InputSpec) -> str:
    if spec.enum is not None:
        return "select"
    return {"object": "json", "array": "json"}.get(spec.type, spec.type)


def fields_for(
    definition: Definition,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[InputField]:
    """The form's fields: defaults first, or what the user sent when the form comes back."""
    fields = []
    for name, spec in definition.inputs.items():
        value = values.get(name, "") if values is not None else _as_text(spec, spec.default)
        fields.append(
            InputField(
                name=name,
                type=spec.type,
                widget=_widget(spec),
                required=spec.required and spec.default is None,
                value=value,
                description=spec.description,
                options=[(compact(option), str(option)) for option in spec.enum or []],
                error=(errors or {}).get(name),
            )
        )
    return fields


_WHOLE = re.compile(r"[+-]?[0-9]+")


def _convert(spec: InputSpec, text: str) -> Any:
    """The typed value of a non-empty field; ValueError with a message for the user."""
    if spec.enum is not None:
        return orjson.loads(text)
    if spec.type in ("number", "integer"):
        if _WHOLE.fullmatch(text):
            return int(text)  # exactly, past 2**53 too, as the API takes it
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or "_" in text:  # float() takes "1_000"; JSON does not
            raise ValueError(f"expected a {spec.type}, got {text!r}")
        if spec.type == "integer" or (number.is_integer() and "." not in text):
            if not number.is_integer():
                raise ValueError(f"expected a whole number, got {text!r}")
            return int(number)
        return number
    if spec.type == "boolean":
        return text == "true"
    if spec.type in ("object", "array"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    return text


@dataclass
class SubmittedInputs:
    inputs: dict[str, Any]
    texts: dict[str, str]  # to show the form again as it was sent
    uploads: dict[str, UploadFile]
    errors: dict[str, str]


def parse_inputs(definition: Definition, form: FormData) -> SubmittedInputs:
    """Inputs from the form; empty fields are left out, so defaults apply."""
    submitted = SubmittedInputs({}, {}, {}, {})
    for name, spec in definition.inputs.items():
        raw = form.get(FIELD_PREFIX + name)
        if isinstance(raw, UploadFile):
            if raw.filename:
                submitted.uploads[name] = raw
            continue
        text = (raw or "").strip() if spec.type != "string" else (raw or "")
        submitted.texts[name] = text
        if text == "":
            continue
        try:
            submitted.inputs[name] = _convert(spec, text)
        except ValueError as exc:
            submitted.errors[name] = str(exc)
    return submitted
