"""Writing processes in the browser: a new process, and a new draft revision of one, from YAML
or JSON text.

The same services and checks as ``POST /v2/processes`` and ``PUT /v2/processes/{id}/draft``; a
definition that is refused comes back with the problems listed by path and the text as it was
typed. The draft is offered for editing as YAML of the stored definition (a definition is kept
as data, so comments in the text are not kept), and a save names the revision it edited, so
two people editing one draft cannot overwrite each other silently (409, text kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.deps import SessionDep, SettingsDep
from api.ui.auth import CsrfSessionDep, UiSession, UiSessionDep
from api.ui.render import as_yaml, page
from openruns.errors import Conflict, InvalidInput
from openruns.models import DraftSave, Process, ProcessCreate
from openruns.services import processes

router = APIRouter(prefix="/ui", include_in_schema=False)

STARTER = """\
inputs:
  customer: {type: string, required: true}
steps:
  - id: greet
    uses: set
    with:
      text: "Hello {{ inputs.customer }}"
outputs:
  greeting: "{{ steps.greet.text }}"
"""
_MESSAGES = {"string_pattern_mismatch": "must not contain control characters"}
_NUMBER = re.compile(r"[0-9]{1,10}")


@dataclass
class Editor:
    """What the editor page shows: the fields as typed, and what was wrong with them."""

    definition: str
    name: str = ""
    description: str = ""
    base_revision: int | None = None
    error: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)

    def invalid(self, field_name: str) -> bool:
        """Whether a problem is about this field (its control is marked invalid)."""
        return any(p["path"].split(".")[0].split("[")[0] == field_name for p in self.problems)

    def refused(self, exc: InvalidInput | Conflict | ValidationError) -> Editor:
        if isinstance(exc, ValidationError):
            self.error = "Some fields are not valid."
            self.problems = [
                {
                    "path": ".".join(str(part) for part in err["loc"]),
                    "message": _MESSAGES.get(err["type"], err["msg"]),
                }
                for err in exc.errors()
            ]
        else:
            self.error = exc.message
            self.problems = [
                {"path": str(d.get("path", "")), "message": str(d.get("message", d))}
                if isinstance(d, dict)
                else {"path": "", "message": str(d)}
                for d in exc.details
            ]
        return self


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _editor_page(
    request: Request, ui: UiSession, editor: Editor, process: Process | None, status: int = 200
) -> Response:
    return page(
        request, "process_edit.html", ui, status, nav="processes", editor=editor, process=process
    )


@router.get("/processes/new")
async def new_process_page(request: Request, ui: UiSessionDep) -> Response:
    return _editor_page(request, ui, Editor(definition=STARTER), None)


@router.post("/processes/new")
async def create_process(
    request: Request, ui: CsrfSessionDep, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    editor = Editor(
        definition=_text(form, "definition"),
        name=_text(form, "name").strip(),
        description=_text(form, "description").strip(),
    )
    try:
        body = ProcessCreate(
            name=editor.name, description=editor.description or None, definition=editor.definition
        )
        process = await processes.create(session, body, email_domain=settings.email_domain)
    except (ValidationError, InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _editor_page(request, ui, editor.refused(exc), None, status)
    return RedirectResponse(f"/ui/processes/{process.id}?created=1", status_code=303)


@router.get("/processes/{process_id}/edit")
async def edit_draft_page(
    process_id: str, request: Request, ui: UiSessionDep, session: SessionDep
) -> Response:
    process = await processes.get(session, process_id)
    editor = Editor(definition=as_yaml(process.definition), base_revision=process.draft_revision)
    return _editor_page(request, ui, editor, process)


@router.post("/processes/{process_id}/edit")
async def save_draft(
    process_id: str, request: Request, ui: CsrfSessionDep, session: SessionDep
) -> Response:
    form = await request.form()
    process = await processes.get(session, process_id)
    base = _text(form, "base_revision")
    editor = Editor(definition=_text(form, "definition"))
    if not _NUMBER.fullmatch(base):  # without it, a save could overwrite someone else's
        editor.error = "The form did not say which revision it edits: reload the draft."
        editor.problems = [{"path": "base_revision", "message": "expected a revision number"}]
        return _editor_page(request, ui, editor, process, 422)
    editor.base_revision = int(base)
    try:
        body = DraftSave(definition=editor.definition, base_revision=editor.base_revision)
        saved = await processes.save_draft(session, process_id, body)
    except (ValidationError, InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _editor_page(request, ui, editor.refused(exc), process, status)
    return RedirectResponse(
        f"/ui/processes/{process_id}?saved={saved.draft_revision}", status_code=303
    )
