"""Login, sessions and CSRF over HTTP: redirects, 403s, cookie flags, forgery, revocation."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from api.ui.sessions import SECRET_FILE, Signer, stored_secret
from openruns.settings import Settings
from openruns.store import Database
from openruns.store.apikeys import create_key, revoke_key
from openruns.store.tables import UiLogoutRow
from tests.helpers.ui import csrf_of, log_in


async def test_without_a_session_every_page_redirects_to_login(ui_http: httpx.AsyncClient) -> None:
    for path in ("/ui", "/ui/test-suite", "/ui/processes/proc-x/runs?state=Running"):
        response = await ui_http.get(path)
        assert response.status_code == 303, (path, response.text)
        assert response.headers["location"].startswith("/ui/login")
    response = await ui_http.get("/ui/processes/proc-x/runs?state=Running")
    assert (
        response.headers["location"]
        == "/ui/login?next=%2Fui%2Fprocesses%2Fproc-x%2Fruns%3Fstate%3DRunning"
    )
    post = await ui_http.post("/ui/runs/actions", data={"action": "archive", "run_id": "run-x"})
    assert post.status_code == 303 and post.headers["location"] == "/ui/login"
    login = await ui_http.get("/ui/login")
    assert login.status_code == 200 and 'name="api_key"' in login.text


async def test_login_sets_a_hardened_cookie_and_lands_on_next(
    ui_http: httpx.AsyncClient, api_key: str
) -> None:
    form = await ui_http.get("/ui/login?next=/ui/test-suite")
    response = await ui_http.post(
        "/ui/login",
        data={"api_key": api_key, "csrf_token": csrf_of(form.text), "next": "/ui/test-suite"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/ui/test-suite"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("openruns_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
    assert api_key not in cookie  # the cookie names the key; it does not carry it
    page = await ui_http.get("/ui/test-suite")
    assert page.status_code == 200 and "Test Suite" in page.text
    again = await ui_http.get("/ui/login")
    assert again.status_code == 303 and again.headers["location"] == "/ui"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_login_refuses_a_bad_key_and_a_missing_csrf_token(
    ui_http: httpx.AsyncClient, api_key: str
) -> None:
    form = await ui_http.get("/ui/login")
    wrong = await ui_http.post(
        "/ui/login", data={"api_key": "ork_nope", "csrf_token": csrf_of(form.text)}
    )
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert "openruns_session" not in ui_http.cookies
    no_token = await ui_http.post("/ui/login", data={"api_key": api_key})
    assert no_token.status_code == 403
    assert "CSRF" in no_token.text and "openruns_session" not in ui_http.cookies
    off_site = await ui_http.post("/ui/login", data={"api_key": api_key, "next": "//evil.test"})
    assert off_site.status_code == 403
    form = await ui_http.get("/ui/login")
    ok = await ui_http.post(
        "/ui/login",
        data={"api_key": api_key, "csrf_token": csrf_of(form.text), "next": "https://evil.test/"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/ui"  # never off-site


async def test_every_post_needs_the_sessions_csrf_token(
    ui_http: httpx.AsyncClient, api_key: str
) -> None:
    csrf = await log_in(ui_http, api_key)
    body = {"action": "archive", "run_id": "run-unknown"}
    for data, headers in (
        (body, {}),
        ({**body, "csrf_token": "forged"}, {}),
        (body, {"x-csrf-token": "forged"}),
    ):
        refused = await ui_http.post("/ui/runs/actions", data=data, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "CSRF token is missing or wrong" in refused.text
    for path in ("/ui/logout", "/ui/test-suite/run", "/ui/processes/proc-x/publish"):
        assert (await ui_http.post(path)).status_code == 403
    accepted = await ui_http.post(
        "/ui/runs/actions", data=body, headers={"x-csrf-token": csrf, "x-ui-fetch": "1"}
    )
    assert accepted.status_code == 200, accepted.text
    assert "0 of 1 run done" in accepted.text and "not found" in accepted.text
    # The logout form posts the token as a field; afterwards the session is gone.
    out = await ui_http.post("/ui/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert (await ui_http.get("/ui")).status_code == 303


async def test_a_forged_or_expired_cookie_is_no_session(
    ui_http: httpx.AsyncClient, api_key: str, settings: Settings
) -> None:
    await log_in(ui_http, api_key)
    genuine = ui_http.cookies["openruns_session"]
    body, mac = genuine.split(".")
    for forged in (
        f"{body}x.{mac}",
        f"{body}.{mac[:-2]}AA",
        Signer(b"other").dumps("session", {}, 60),
    ):
        ui_http.cookies.set("openruns_session", forged, path="/ui")
        assert (await ui_http.get("/ui")).status_code == 303
    signer = Signer(stored_secret(settings.data_dir))
    payload = signer.loads("session", genuine)
    assert payload is not None
    expired = signer.dumps("session", {"k": payload["k"], "c": payload["c"]}, -1)
    ui_http.cookies.set("openruns_session", expired, path="/ui")
    assert (await ui_http.get("/ui")).status_code == 303
    ui_http.cookies.set("openruns_session", genuine, path="/ui")
    assert (await ui_http.get("/ui")).status_code == 200


async def test_revoking_the_key_ends_its_sessions(
    ui_http: httpx.AsyncClient, database: Database
) -> None:
    async with database.session() as session:
        row, key = await create_key(session, "laptop")
    await log_in(ui_http, key)
    assert (await ui_http.get("/ui")).status_code == 200
    async with database.session() as session:
        await revoke_key(session, row.id)
    assert (await ui_http.get("/ui")).status_code == 303


def test_the_secret_is_kept_in_the_data_dir_and_shared(settings: Settings) -> None:
    first = stored_secret(settings.data_dir)
    assert stored_secret(settings.data_dir) == first  # a restart, or another process
    assert (settings.data_dir / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    token = Signer(first).dumps("session", {"k": "key-1"}, 60)
    assert Signer(stored_secret(settings.data_dir)).loads("session", token) == {
        "k": "key-1",
        "typ": "session",
        "exp": Signer(first).loads("session", token)["exp"],  # type: ignore[index]
    }
    assert Signer(first).loads("login", token) is None  # one kind never passes as another


async def test_cookies_are_secure_over_https_or_when_configured(
    ui_http: httpx.AsyncClient, api_key: str, settings: Settings
) -> None:
    async def session_cookie() -> str:
        form = await ui_http.get("/ui/login")
        response = await ui_http.post(
            "/ui/login", data={"api_key": api_key, "csrf_token": csrf_of(form.text)}
        )
        assert response.status_code == 303, response.text
        ui_http.cookies.clear()
        return next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("openruns_session=")
        )

    async def login_form_cookie() -> str:
        form = await ui_http.get("/ui/login")
        ui_http.cookies.clear()
        [cookie] = form.headers.get_list("set-cookie")
        return cookie

    assert "Secure" not in await session_cookie()  # plain http, nothing configured
    assert "Secure" not in await login_form_cookie()
    # Behind a TLS terminator the API sees http: configured, the cookies are Secure anyway
    # (so a browser never sends them over plain http; an http client here cannot log in).
    settings.session_cookie_secure = True
    assert "Secure" in await login_form_cookie()
    settings.session_cookie_secure = None
    ui_http.base_url = httpx.URL("https://openruns.test")
    assert "Secure" in await session_cookie()
    assert "Secure" in await login_form_cookie()
    settings.session_cookie_secure = False
    assert "Secure" not in await login_form_cookie()


async def test_logging_out_ends_the_session_for_copies_of_its_cookie_too(
    ui_http: httpx.AsyncClient, api_key: str, database: Database
) -> None:
    csrf = await log_in(ui_http, api_key)
    copied = ui_http.cookies["openruns_session"]  # e.g. lifted from a shared machine
    out = await ui_http.post("/ui/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"

    ui_http.cookies.set("openruns_session", copied, path="/ui")  # signed and not yet expired
    replayed = await ui_http.get("/ui")
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/ui/login")
    again = await ui_http.post("/ui/logout", data={"csrf_token": csrf})
    assert again.status_code == 303  # a second logout (another tab) is not an error
    ui_http.cookies.clear()

    await log_in(ui_http, api_key)  # a new login is a new session, live
    assert (await ui_http.get("/ui")).status_code == 200
    async with database.session() as session:  # one row per ended session, none per live one
        ended = (await session.execute(select(func.count()).select_from(UiLogoutRow))).scalar()
    assert ended == 1
