"""Web UI login: an API key, verified like the API verifies it, buys a signed, HttpOnly,
SameSite=Lax session cookie. Every state-changing request must carry the session's CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``); the login form has its own.

A session names its API key and is checked against the database on every request, so
revoking the key ends its UI sessions at once, and logging out ends that session for good
(``openruns.store.ui_logouts``), copies of its cookie included.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DatabaseDep
from api.ui.render import page
from api.ui.sessions import Signer, new_csrf_token, session_secret
from openruns.errors import Forbidden, PayloadTooLarge
from openruns.store.apikeys import verify_key
from openruns.store.tables import ApiKeyRow
from openruns.store.ui_logouts import end_session, live_session_key

SESSION_COOKIE = "openruns_session"
LOGIN_COOKIE = "openruns_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_FORM_SECONDS = 3600
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and fields around an uploaded file

router = APIRouter(prefix="/ui", include_in_schema=False)


@dataclass
class UiSession:
    key: ApiKeyRow
    csrf: str
    expires_at: datetime


class LoginRequired(Exception):
    """No valid session: the UI answers with a redirect to the login page."""


def signer(request: Request) -> Signer:
    state = request.app.state
    if getattr(state, "ui_signer", None) is None:
        state.ui_signer = Signer(session_secret(state.settings))
    return state.ui_signer


async def current_session(request: Request, database: DatabaseDep) -> UiSession:
    payload = signer(request).loads("session", request.cookies.get(SESSION_COOKIE))
    if payload is None:
        raise LoginRequired
    csrf = str(payload.get("c"))
    async with database.session() as session:
        key = await live_session_key(session, str(payload.get("k")), csrf)
    if key is None:
        raise LoginRequired
    return UiSession(key=key, csrf=csrf, expires_at=datetime.fromtimestamp(payload["exp"], UTC))


UiSessionDep = Annotated[UiSession, Depends(current_session)]


def _same(sent: object, expected: str) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


async def checked_session(request: Request, ui: UiSessionDep) -> UiSession:
    """The session of a state-changing request whose CSRF token matches; 403 otherwise."""
    declared = request.headers.get("content-length", "")
    limit = request.app.state.settings.max_file_bytes + MULTIPART_OVERHEAD
    if declared.isdigit() and int(declared) > limit:  # refused before the body is read
        raise PayloadTooLarge(f"the request is larger than {limit} bytes (OPENRUNS_MAX_FILE_BYTES)")
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = (await request.form()).get(CSRF_FIELD)
    if not _same(sent, ui.csrf):
        raise Forbidden("the CSRF token is missing or wrong: reload the page and try again")
    return ui


CsrfSessionDep = Annotated[UiSession, Depends(checked_session)]


def safe_next(target: str | None) -> str:
    """Only paths inside the UI: never an absolute or scheme-relative URL."""
    if target and target.startswith("/ui") and not target.startswith(("//", "/\\")):
        return target
    return "/ui"


def _secure(request: Request) -> bool:
    configured: bool | None = request.app.state.settings.session_cookie_secure
    return request.url.scheme == "https" if configured is None else configured


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/ui",
    )


def _login_page(request: Request, next_url: str, error: str | None, status: int) -> Response:
    payload = signer(request).loads("login", request.cookies.get(LOGIN_COOKIE))
    token = str(payload["c"]) if payload else new_csrf_token()
    response = page(
        request, "login.html", None, status, next_url=safe_next(next_url), error=error, csrf=token
    )
    cookie = signer(request).dumps("login", {"c": token}, LOGIN_FORM_SECONDS)
    _set_cookie(request, response, LOGIN_COOKIE, cookie, LOGIN_FORM_SECONDS)
    return response


@router.get("/login")
async def login_form(request: Request, database: DatabaseDep, next: str = "/ui") -> Response:
    try:
        await current_session(request, database)
    except LoginRequired:
        return _login_page(request, next, None, 200)
    return RedirectResponse(safe_next(next), status_code=303)  # logged in already


@router.post("/login")
async def login(
    request: Request,
    database: DatabaseDep,
    api_key: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ui",
) -> Response:
    """Check the login form's CSRF token and the API key; on success, start a session."""
    expected = signer(request).loads("login", request.cookies.get(LOGIN_COOKIE))
    if expected is None or not _same(csrf_token, str(expected["c"])):
        raise Forbidden("the login form expired or its CSRF token is wrong: reload the page")
    key = None
    if api_key.strip():
        async with database.session() as session:
            key = await verify_key(session, api_key.strip())
    if key is None:
        return _login_page(request, next, "That API key is not valid (or was revoked).", 401)
    max_age = int(request.app.state.settings.session_hours * 3600)
    cookie = signer(request).dumps("session", {"k": key.id, "c": new_csrf_token()}, max_age)
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, cookie, max_age)
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


@router.post("/logout")
async def logout(ui: CsrfSessionDep, database: DatabaseDep) -> Response:
    """End the session: for this browser and for any copy of its cookie."""
    async with database.session() as session:
        await end_session(session, ui.csrf, ui.expires_at)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response
