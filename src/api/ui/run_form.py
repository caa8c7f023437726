"""The Run form: generated from the declared inputs of the Draft or Published revision (the
process page opens it in a dialog; it is also a page of its own), and starting a manual run
from what it sends — with the form's own idempotency key, so a double submit starts one run."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from temporalio.client import Client

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.ui.auth import CsrfSessionDep, UiSession, UiSessionDep
from api.ui.forms import SubmittedInputs, fields_for, parse_inputs
from api.ui.render import page
from openruns.definition.model import Definition
from openruns.errors import InvalidInput, OpenRunsError
from openruns.models import Process, Run
from openruns.services import files as file_service
from openruns.services import processes, run_start
from openruns.services.processes import load_definition, revision_for_stage
from openruns.settings import Settings
from openruns.states import Stage, Trigger

router = APIRouter(prefix="/ui", include_in_schema=False)


def run_form(
    stage: Stage,
    revision: int,
    definition: Definition,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "stage": stage.value,
        "revision": revision,
        "fields": fields_for(definition, values, errors),
        "idempotency_key": extra.pop("idempotency_key", None) or secrets.token_urlsafe(16),
        **extra,
    }


async def forms_for(session: AsyncSession, process: Process) -> list[dict[str, Any]]:
    """A Run form for the Draft and, once published, for the Published revision."""
    stages = [Stage.DRAFT] + ([Stage.PUBLISHED] if process.published_revision else [])
    forms = []
    for stage in stages:
        revision = await revision_for_stage(session, process.id, stage)
        forms.append(run_form(stage, revision.revision, load_definition(revision)))
    return forms


def _stage(raw: object) -> Stage:
    try:
        return Stage(str(raw or Stage.DRAFT.value))
    except ValueError:
        raise InvalidInput(
            "stage must be Draft or Published", [{"path": "stage", "message": "unknown stage"}]
        ) from None


@router.get("/processes/{process_id}/run")
async def run_form_page(
    process_id: str, request: Request, ui: UiSessionDep, session: SessionDep, stage: str = "Draft"
) -> Response:
    """The Run form as a page of its own (the process page opens it in a dialog)."""
    process = await processes.get(session, process_id)
    revision = await revision_for_stage(session, process_id, _stage(stage))
    form = run_form(_stage(stage), revision.revision, load_definition(revision))
    return page(request, "run_form.html", ui, nav="processes", process=process, form=form)


@router.post("/processes/{process_id}/run")
async def start_run(
    process_id: str,
    request: Request,
    ui: CsrfSessionDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """Start a manual run from the form; the form comes back with the problems if it fails."""
    form = await request.form()
    process = await processes.get(session, process_id)
    stage = _stage(form.get("stage"))
    revision = await revision_for_stage(session, process_id, stage)
    definition = load_definition(revision)
    submitted = parse_inputs(definition, form)
    error = None
    if not submitted.errors:
        try:
            run = await _start(session, temporal, settings, ui, process_id, stage, form, submitted)
            return RedirectResponse(f"/ui/runs/{run.id}", status_code=303)
        except InvalidInput as exc:
            for detail in exc.details:
                path = str(detail.get("path", ""))
                if path.startswith("inputs."):
                    submitted.errors[path.removeprefix("inputs.")] = detail["message"]
            error = exc.message
        except OpenRunsError as exc:
            error = exc.message
    form_view = run_form(
        stage,
        revision.revision,
        definition,
        submitted.texts,
        submitted.errors,
        name=form.get("name"),
        error=error or "Some inputs are not valid.",
        idempotency_key=str(form.get("idempotency_key") or ""),
    )
    return page(request, "run_form.html", ui, 422, nav="processes", process=process, form=form_view)


async def _start(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    ui: UiSession,
    process_id: str,
    stage: Stage,
    form: FormData,
    submitted: SubmittedInputs,
) -> Run:
    key = str(form.get("idempotency_key") or "") or None
    file_ids = []
    for input_name, upload in submitted.uploads.items():
        stored = await file_service.upload_with_settings(
            session,
            settings,
            upload.read,
            upload.filename,
            upload.content_type,
            # the same form sent again stores the same file: its run is the same run too
            (ui.key.id, key, input_name) if key else (),
        )
        submitted.inputs[input_name] = stored.id
        file_ids.append(stored.id)
    name = str(form.get("name") or "").strip()[:200] or None
    started = await run_start.start_run(
        temporal,
        session,
        settings,
        run_start.StartRequest(
            process_id=process_id,
            stage=stage,
            trigger=Trigger.MANUAL,
            inputs=submitted.inputs,
            name=name,
            file_ids=file_ids,
            idempotency_scope=ui.key.id,
            # The form's own key: a double submit or a resubmit starts the run once.
            idempotency_key=key,
        ),
    )
    return started.run
