"""Account routes: refresh and end a desk session, change one's own password (login is POST /auth/login); an
administrator resets a password or disables a user. The user view is here (the list is GET /users)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from yibao.http.deps import caller, require, secret, store_of
from yibao.ops import sessions, users
from yibao.ops.auth import Principal
from yibao.ops.store import User

router = APIRouter(tags=["auth"])
Reader = Annotated[Principal, Depends(caller)]
Admin = Annotated[Principal, Depends(require())]
Username = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


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


def user_item(row: User) -> dict[str, Any]:
    return {
        "username": row.username, "role": row.role, "person_id": row.person_id, "facility_id": row.facility_id,
        "regions": [r for r in row.regions.split(",") if r], "layer": row.layer,
        "disabled_at": None if row.disabled_at is None else row.disabled_at.isoformat(),
    }


class ResetIn(BaseModel):
    new_password: str | None = Field(None, min_length=1, max_length=1000,
                                     description="omitted: a random strong password is made and answered once")


@router.post("/users/{username}/password")
def post_user_password(request: Request, username: Username, body: ResetIn, who: Admin) -> dict[str, Any]:
    """Reset a user's password (administrator). Their sessions end. The answer carries the password only if it
    was generated here."""
    with store_of(request).transaction() as s:
        password = users.reset_password(s, who.actor, username, body.new_password)
        return {**user_item(users.user(s, username)), "password": None if body.new_password else password}


@router.post("/users/{username}/disable")
def post_user_disable(request: Request, username: Username, who: Admin) -> dict[str, Any]:
    """Disable a user (administrator): no more logins or refreshes; their sessions end."""
    with store_of(request).transaction() as s:
        return user_item(users.disable(s, who.actor, username))
