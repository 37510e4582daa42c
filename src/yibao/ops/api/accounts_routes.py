"""Account routes: refresh and end a desk session, change one's own password (login is POST /auth/login)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from yibao.ops import sessions, users
from yibao.ops.api.deps import caller, secret, store_of
from yibao.ops.auth import Principal

router = APIRouter(tags=["auth"])
Reader = Annotated[Principal, Depends(caller)]


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokensOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(description="use once with POST /auth/refresh; the answer carries the next one")
    refresh_expires_at: str = Field(description="end of the session (a working day after login), ISO 8601 UTC")


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


@router.post("/auth/refresh", response_model=TokensOut)
def post_refresh(request: Request, body: RefreshIn) -> dict[str, Any]:
    """A new access token and the next refresh token; the one sent is used up. A used one sent again ends the
    session (it was copied)."""
    return sessions.refresh(store_of(request), secret(request, "token_secret"), body.refresh_token).body()


@router.post("/auth/logout", status_code=204, response_class=Response)
def post_logout(request: Request, body: RefreshIn) -> Response:
    """End the session of a refresh token: it and every token rotated from it are revoked."""
    sessions.logout(store_of(request), body.refresh_token)
    return Response(status_code=204)


@router.post("/me/password", status_code=204, response_class=Response)
def post_my_password(request: Request, body: PasswordIn, who: Reader) -> Response:
    """Change one's own password (the current one is required; the new one must be strong). Wrong current
    passwords count as failed logins (429 when throttled). Every session of the user ends: log in again."""
    address = request.client.host if request.client else None
    users.change_password(store_of(request), who.username, body.current_password, body.new_password, address)
    return Response(status_code=204)
