"""Log-in, the caller's own account, and users (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from yibao.http.deps import Admin, Reader, secret, store_of
from yibao.ops import sessions
from yibao.ops.auth import add_user
from yibao.ops.schemas import UserIn

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    username: str
    password: str


def user_view(username: str, role: str) -> dict[str, Any]:
    return {"username": username, "role": role}


@router.post("/auth/login")
def post_login(request: Request, body: LoginIn) -> dict[str, Any]:
    """Exchange a user name and password for a short-lived bearer token and a refresh token (POST /auth/refresh).
    Failed logins are throttled per account and per client address (429 with `Retry-After`)."""
    address = request.client.host if request.client else None
    return sessions.login(store_of(request), secret(request, "token_secret"), body.username, body.password, address).body()


@router.get("/me")
def get_me(who: Reader) -> dict[str, Any]:
    return {"username": who.username, "role": who.role.value, "person_id": who.person_id,
            "facility_id": who.facility_id, "regions": list(who.regions), "layer": who.layer}


@router.post("/users", status_code=201)
def post_user(request: Request, body: UserIn, who: Admin) -> dict[str, Any]:
    with store_of(request).transaction() as s:
        user = add_user(s, who.actor, body)
        return user_view(user.username, user.role)
