"""``/v1/monitoring/sign-in`` and ``/sign-out``: an analyst's browser session for the dashboard.

A browser cannot add the ``X-API-Key`` header to a page, its scripts and its calls, so an analyst signs in once
with their key (a form, or the header), and the key is held in an HttpOnly, SameSite=Strict cookie sent only to
``/v1/monitoring`` (Secure over HTTPS) for :data:`SESSION_HOURS` hours. Only the monitoring routes accept it;
every other route still needs the header. The key is checked at each request as if it came in the header (a
revoked key ends the session), and each sign-in is recorded as an access like any other.
"""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Security
from fastapi.responses import HTMLResponse, RedirectResponse

from scoring_api.access.keys import Role
from scoring_api.service.deps import SESSION_COOKIE, ServicesDep, admit, api_key_header

PREFIX: Final = "/v1/monitoring"
SESSION_HOURS: Final = 8
router = APIRouter(prefix=PREFIX, tags=["monitoring"])

_FORM: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - fraud monitoring</title></head>
<body><main><h1>Fraud monitoring</h1>
<form method="post" action="{prefix}/sign-in">
<label>Analyst API key <input type="password" name="key" autocomplete="off" required></label>
<button type="submit">Sign in</button>
</form></main></body></html>
"""


@router.get("/sign-in", response_class=HTMLResponse, summary="The analysts' sign-in page")
async def sign_in_page() -> HTMLResponse:
    """A form that posts an analyst's key to ``POST /v1/monitoring/sign-in``."""
    return HTMLResponse(_FORM.format(prefix=PREFIX))


@router.post(
    "/sign-in",
    response_class=RedirectResponse,
    status_code=303,
    responses={401: {"description": "missing or invalid key"}, 403: {"description": "not an analyst's key"}},
    summary="Sign an analyst's browser in to the dashboard",
)
async def sign_in(
    request: Request, services: ServicesDep, presented: Annotated[str | None, Security(api_key_header)]
) -> RedirectResponse:
    """The analyst's key from the form field ``key`` (``application/x-www-form-urlencoded``) or the
    ``X-API-Key`` header; once checked, held in the session cookie, and the browser sent to the dashboard."""
    typed = None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        typed = parse_qs((await request.body()).decode("utf-8", errors="replace")).get("key", [None])[0]
    key = typed if typed else presented
    admit(request, services, key, (Role.ANALYST,))
    assert key is not None  # admitted
    response = RedirectResponse(f"{PREFIX}/dashboard", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=SESSION_HOURS * 3600,
        path=PREFIX,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/sign-out", response_class=RedirectResponse, status_code=303, summary="End the browser's session")
async def sign_out() -> RedirectResponse:
    """Forget the session cookie and go back to the sign-in page."""
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response
