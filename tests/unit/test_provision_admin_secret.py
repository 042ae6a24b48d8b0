"""Issue 14: the migration Job's log (shipped to Datadog) never carries the first admin's
password; without the Secret it says how to make one instead of generating a password."""

from __future__ import annotations

from typing import Any

import pytest

from tooling import provision


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {"ensure_admin": []}

    async def fake_provision(*args: Any, **kwargs: Any) -> list[str]:
        return []

    async def fake_ensure_admin(dsn: str, password: str | None) -> str | None:
        seen["ensure_admin"].append(password)
        return None if password else "generated-secret-pw"

    async def no_admin(dsn: str) -> bool:
        return False

    monkeypatch.setattr(provision, "provision", fake_provision)
    monkeypatch.setattr(provision, "ensure_admin", fake_ensure_admin)
    monkeypatch.setattr(provision, "has_admin", no_admin, raising=False)
    return seen


def _settings(monkeypatch: pytest.MonkeyPatch, password: str | None) -> Any:
    monkeypatch.setenv("DATABASE_URL", "postgresql://owner@db/acougue")
    if password is None:
        monkeypatch.delenv("ACOUGUE_ADMIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("ACOUGUE_ADMIN_PASSWORD", password)
    return provision.ProvisionSettings()


async def test_without_the_secret_no_password_is_made_and_the_log_says_how(
    monkeypatch: pytest.MonkeyPatch, calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    await provision.run(_settings(monkeypatch, None))
    out = capsys.readouterr().out
    assert calls["ensure_admin"] == []  # nothing generated, nothing to print
    assert "generated-secret-pw" not in out
    assert "kubectl -n acougue-system get secret acougue-admin" in out
    assert "base64 -d" in out


async def test_the_secrets_password_is_used_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    await provision.run(_settings(monkeypatch, "from-the-secret-123"))
    out = capsys.readouterr().out
    assert calls["ensure_admin"] == ["from-the-secret-123"]
    assert "from-the-secret-123" not in out
