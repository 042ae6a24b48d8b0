"""The auth part of the HTTP API."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.catalog import Strict


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
