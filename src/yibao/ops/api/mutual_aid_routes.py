"""Mutual-aid endpoints: membership, claims workflow, jury votes, apportionment, disclosure."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
