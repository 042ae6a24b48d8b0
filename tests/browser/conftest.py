"""Debian's Chromium, checked (skip, or fail under CI) and launched once per module; the
admin's header and client of the module's system."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.support import launched_chromium, require_chromium
from tests.support.fixtures import admin as admin
from tests.support.fixtures import api as api


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with launched_chromium(chromium) as launched:
        yield launched
