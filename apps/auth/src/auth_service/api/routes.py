"""Token issuance (RFC 6749 password and client_credentials grants), JWKS and /v1/me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel
from servicekit.problems import Problem, problem_responses
from servicekit.security import Principal, require_scopes

from auth_service.core.config import AuthSettings
from auth_service.core.throttle import PASSWORD_GRANTS, PasswordGrantThrottle
from auth_service.core.tokens import issue_token
from auth_service.core.users import Directory

router = APIRouter()


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


class JWKSet(BaseModel):
    keys: list[dict[str, Any]]


class Me(BaseModel):
    sub: str
    scopes: list[str]
    claims: dict[str, Any]


def _oauth_error(status: int, error: str, detail: str) -> Problem:
    headers = {"WWW-Authenticate": 'Basic realm="auth"'} if status == 401 else {}
    return Problem(status, detail, slug=f"oauth/{error}", title=error, headers=headers, error=error)


def _granted(requested: str | None, allowed: list[str]) -> list[str]:
    if not requested:
        return list(allowed)
    wanted = requested.split()
    denied = sorted(set(wanted) - set(allowed))
    if denied:
        raise _oauth_error(400, "invalid_scope", f"Scope not allowed: {' '.join(denied)}.")
    return [scope for scope in allowed if scope in wanted]


async def _throttle(request: Request, client_id: str | None) -> None:
    """Password grants are bounded per client: its id, or its address when it sends none."""
    throttle: PasswordGrantThrottle = request.app.state.password_throttle
    client = client_id or (request.client.host if request.client else "unknown")
    if not await throttle.admit(client):
        retry_after = await throttle.retry_after(client)
        raise Problem(
            429,
            "Too many password grants for this client; retry later.",
            slug="oauth/slow_down",
            title="Too many requests",
            headers={"Retry-After": str(retry_after)},
            error="slow_down",
        )


@router.post(
    "/v1/token",
    response_model=TokenResponse,
    summary="Issue an access token",
    responses=problem_responses(400, 401, 413, 422, 429),
)
async def token(
    request: Request,
    grant_type: Annotated[str, Form()],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
) -> TokenResponse:
    settings: AuthSettings = request.app.state.settings
    directory: Directory = request.app.state.directory
    extra: dict[str, Any] = {}
    if grant_type == "password":
        if not username or password is None:
            raise _oauth_error(400, "invalid_request", "username and password are required.")
        await _throttle(request, client_id)
        user = directory.authenticate_user(username, password)
        PASSWORD_GRANTS.labels("granted" if user else "refused").inc()
        if user is None:
            raise _oauth_error(400, "invalid_grant", "Invalid username or password.")
        subject, scopes = username, _granted(scope, user.scopes)
        if user.email:
            extra["email"] = str(user.email)
    elif grant_type == "client_credentials":
        if not client_id or client_secret is None:
            raise _oauth_error(400, "invalid_request", "client_id and client_secret are required.")
        client = directory.authenticate_client(client_id, client_secret)
        if client is None:
            raise _oauth_error(401, "invalid_client", "Client authentication failed.")
        subject, scopes = client_id, _granted(scope, client.scopes)
    else:
        raise _oauth_error(
            400, "unsupported_grant_type", "grant_type must be password or client_credentials."
        )
    access_token = issue_token(
        request.app.state.keyring,
        issuer=settings.jwt_issuer,
        subject=subject,
        scopes=scopes,
        ttl_seconds=settings.token_ttl_seconds,
        extra=extra,
    )
    return TokenResponse(
        access_token=access_token, expires_in=settings.token_ttl_seconds, scope=" ".join(scopes)
    )


@router.get("/.well-known/jwks.json", response_model=JWKSet, summary="Public signing keys")
async def jwks(request: Request) -> dict[str, Any]:
    return request.app.state.keyring.jwks


@router.get(
    "/v1/me",
    response_model=Me,
    summary="The caller's claims",
    responses=problem_responses(401, 403),
)
async def me(principal: Annotated[Principal, Depends(require_scopes("auth:me"))]) -> Me:
    return Me(sub=principal.subject, scopes=sorted(principal.scopes), claims=principal.claims)
