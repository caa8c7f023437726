"""A JSON body sent as something else (``text/plain``, a form, no content type) is a 415 that
says to send it as JSON, not a 422 about a "dictionary"; uploads and the web UI's forms,
which are not JSON, work as before."""

from __future__ import annotations

import json

import httpx

from openruns.settings import Settings
from tests.helpers.apps import api_client
from tests.helpers.ui import log_in

PROCESS = {"name": "typed", "definition": {"steps": [{"id": "a", "uses": "set", "with": {"x": 1}}]}}
NOT_JSON = "send the body as JSON (content-type: application/json)"


async def test_a_body_not_sent_as_json_is_415(api: httpx.AsyncClient) -> None:
    body = json.dumps(PROCESS).encode()
    for content_type, said in (
        ("text/plain", "'text/plain', not JSON"),
        ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded', not JSON"),
        (None, "missing"),  # e.g. requests.post(url, data=json.dumps(...))
    ):
        headers = {"content-type": content_type} if content_type else {}
        response = await api.post("/v2/processes", content=body, headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        assert response.json() == {
            "message": NOT_JSON,
            "details": [{"path": "header.content-type", "message": said}],
        }
    # Every JSON endpoint, before it looks at anything else.
    for method, path in (
        ("PUT", "/v2/processes/proc-nope/draft"),
        ("POST", "/v2/runs"),
        ("PATCH", "/v2/schedules/sched-nope"),
    ):
        response = await api.request(
            method, path, content=b"{}", headers={"content-type": "text/plain"}
        )
        assert response.status_code == 415, (path, response.text)

    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        named = {**PROCESS, "name": content_type}
        response = await api.post(
            "/v2/processes", content=json.dumps(named), headers={"content-type": content_type}
        )
        assert response.status_code == 201, (content_type, response.text)
    # No body at all is not a content-type problem.
    empty = await api.post(
        "/v2/processes/proc-nope/publish", headers={"content-type": "text/plain"}
    )
    assert empty.status_code == 404, empty.text
    missing = await api.post("/v2/processes", headers={"content-type": "text/plain"})
    assert missing.status_code == 422, missing.text


async def test_uploads_and_web_ui_forms_are_not_json_and_still_work(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    upload = await api.post("/v2/files", files={"file": ("a.txt", b"hello", "text/plain")})
    assert upload.status_code == 201, upload.text
    async with api_client(settings, key="") as browser:
        assert settings.api_key is not None
        await log_in(browser, settings.api_key.get_secret_value())  # a form post, 303


async def test_the_api_description_lists_415_where_a_body_is_json(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert "415" in paths["/v2/processes"]["post"]["responses"]
    assert "415" in paths["/v2/runs"]["post"]["responses"]
    assert "415" not in paths["/v2/processes"]["get"]["responses"]
    assert "415" not in paths["/v2/files"]["post"]["responses"]
