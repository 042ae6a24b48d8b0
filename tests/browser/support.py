"""Helpers of the browser tests: Debian's Chromium driven by Playwright, a page that fails
the test on any console error or request that would leave this machine, screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.support.components import in_ci
from tooling.manifests import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
LOCAL_HOSTS = frozenset({"127.0.0.1"})
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
TABLET: ViewportSize = {"width": 820, "height": 1180}  # a 10-inch tablet, portrait
_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")

# Playwright's own wait for an expectation; the machine may be busy with the whole system.
expect.set_options(timeout=20_000)


def require_chromium() -> Path:
    """Debian's Chromium, or skip (fail under CI=true, which must never pass by skipping)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if in_ci():
        pytest.fail(f"{message}; CI=true: a missing component is a failure", pytrace=False)
    pytest.skip(f"{message}; under CI=true this fails instead")


@contextmanager
def launched_chromium(chromium: Path) -> Iterator[Browser]:
    """Chromium at that path, launched by Playwright with CHROMIUM_ARGS; closed after."""
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What a page did that a test must not let pass: console errors, uncaught exceptions,
    requests to any host but this machine. HTTP statuses a test expects (a wrong password's
    401) are declared with allow_http; Chromium logs each as a console error."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    allowed_http: set[int] = field(default_factory=set)
    allow_network_failures: bool = False

    def allow_http(self, *statuses: int) -> None:
        self.allowed_http.update(statuses)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = _FAILED_LOAD.match(message.text)
        if failed and int(failed.group(1)) in self.allowed_http:
            return
        if self.allow_network_failures and message.text.startswith(
            "Failed to load resource: net::"
        ):
            return
        self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_route(self, route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def check(self) -> None:
        assert not self.external, f"requests left 127.0.0.1: {self.external}"
        assert not self.page_errors, f"JavaScript errors: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"


def new_context(browser: Browser, watch: Watch, *, tablet: bool = False) -> BrowserContext:
    context = browser.new_context(
        viewport=TABLET if tablet else DESKTOP,
        locale="pt-BR",
        timezone_id="America/Sao_Paulo",
        has_touch=tablet,
        service_workers="block",
    )
    context.route("**/*", watch.on_route)
    context.on("console", watch.on_console)
    context.on("weberror", lambda error: watch.page_errors.append(str(error.error)))
    return context


def submit_login(page: Page, gateway: str, username: str, password: str, then: str = "/") -> None:
    """Fills the login form (then: its ?next=) and sends it; where it leads is not awaited."""
    page.goto(f"{gateway}/login?next={then}")
    page.get_by_label("Usuário").fill(username)
    page.get_by_label("Senha").fill(password)
    page.get_by_role("button", name="Entrar").click()


def login(page: Page, gateway: str, username: str, password: str, then: str = "/") -> None:
    submit_login(page, gateway, username, password, then)
    ready(page)


def ready(page: Page) -> None:
    """The page has its session and has drawn itself (app.js sets body[data-ready])."""
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def go(page: Page, label: str) -> None:
    """Navigates by the top menu (HTMX-boosted: no reload, the token stays in memory)."""
    page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name=label, exact=True
    ).click()
    expect(page.locator("#main")).to_have_attribute("data-title", label)
    ready(page)


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def ean13(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def price_label(plu: int, total_cents: int) -> str:
    """A Toledo-layout scale label (2CCCC0TTTTTTDV): PLU and the printed price."""
    return ean13(f"2{plu:04d}0{total_cents:06d}")


def money(text: str) -> re.Pattern[str]:
    """R$ 1.234,56 as the page shows it (Intl puts a no-break space after R$)."""
    return re.compile(r"R\$\s" + re.escape(text))
