"""Real components for tests: PostgreSQL and RabbitMQ over real connections, and the
command-line tools some tests run.

A missing component skips the tests that need it with a message naming it, except under
CI=true, where it fails the run: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    try:
        with socket.create_connection((host, parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _missing(message: str, remedy: str) -> NoReturn:
    """Skip naming what is missing; under CI=true, fail instead."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing component is a failure)", pytrace=False)
    pytest.skip(f"{message}; {remedy} (under CI=true this fails instead)")


def require(component: str, url: str, default_port: int) -> str:
    if _reachable(url, default_port):
        return url
    _missing(f"{component} is not reachable at {url}", "start it to run these tests")


def require_tool(name: str) -> str:
    """The path of a command-line tool a test runs (make, awk...), on the same terms."""
    found = shutil.which(name)
    if found is not None:
        return found
    _missing(f"{name} is not installed (not on PATH)", "install it to run this test")


def require_file(path: Path, what: str) -> Path:
    """A file a test reads from outside the repository (../shared's reference material)."""
    if path.is_file():
        return path
    _missing(f"{what} is missing: {path}", "put ../shared beside the checkout to run this test")


def run_checked(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    """Runs a command to its end (60 s at most): its standard output, or a failed assertion
    that shows its standard error."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def admin_database_url() -> str:
    return require("PostgreSQL", os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL), 5432)


def amqp_url() -> str:
    return require("RabbitMQ", os.environ.get("TEST_AMQP_URL", DEFAULT_AMQP_URL), 5672)
