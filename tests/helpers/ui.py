"""Using the web UI over plain HTTP: log in with an API key, read the CSRF token of a page."""

from __future__ import annotations

import re

import httpx

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (the meta tag, or else the first form's field)."""
    match = _CSRF_META.search(html)
    if match and match.group(1):
        return match.group(1)
    field = _CSRF_FIELD.search(html)
    assert field, "no CSRF token on the page"
    return field.group(1)


async def log_in(http: httpx.AsyncClient, api_key: str) -> str:
    """Log in through the form like a browser; returns the session's CSRF token."""
    form = await http.get("/ui/login")
    assert form.status_code == 200, form.text
    response = await http.post(
        "/ui/login", data={"api_key": api_key, "csrf_token": csrf_of(form.text), "next": "/ui"}
    )
    assert response.status_code == 303, response.text
    home = await http.get("/ui")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)
