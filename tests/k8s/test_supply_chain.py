"""Pinned requirements with hashes, and a dependency audit in the test command (issue 14).

Every file pip installs — into `.venv` (Makefile) and into each image (Dockerfile) — must match
a sha256 in the lock files, so a replaced or tampered release on the index fails the install
instead of running; and `make test` runs pip-audit over every pin of both locks.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.k8s.support import REPO
from tests.support.components import require_tool

LOCKS = ("requirements.lock", "requirements-dev.lock")
# A pin, with its extras if any (`make lock` keeps them: cachecontrol[filecache]==0.14.4).
REQUIREMENT = re.compile(r"^([a-z0-9][a-z0-9._-]*)(?:\[[a-z0-9._,-]+\])?==(\S+)")


def _blocks(text: str) -> dict[str, list[str]]:
    """Each pinned requirement of a lock file and the lines that belong to it."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = REQUIREMENT.match(line)
        if match:
            current = found.setdefault(match[1], [])
            current.append(line)
        elif line.startswith(" ") and current is not None:
            current.append(line)
        elif line.strip() and not line.startswith("#"):
            pytest.fail(f"a line that is neither a pin nor part of one: {line!r}")
    return found


def _hashes(lines: list[str]) -> list[str]:
    return re.findall(r"--hash=sha256:([0-9a-f]{64})", "\n".join(lines))


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_has_its_hashes(lock: str) -> None:
    text = (REPO / lock).read_text(encoding="utf-8")
    blocks = _blocks(text)
    assert len(blocks) > 20
    unhashed = [name for name, lines in blocks.items() if not _hashes(lines)]
    assert not unhashed, f"{lock}: pins without --hash: {unhashed}"
    # Written by the tool and command `make lock` runs (the header says which).
    assert "uv pip compile --generate-hashes" in text.splitlines()[1], text.splitlines()[1]


def _recipe(target: str) -> str:
    """The commands `make -n TARGET` would run (make itself reads the Makefile)."""
    make = require_tool("make")
    done = subprocess.run(
        [make, "--no-print-directory", "-n", "-W", "requirements.lock", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.replace("\\\n", " ")  # one line per command


def test_the_venv_is_installed_with_require_hashes_only() -> None:
    """`make .venv/.installed` (forced to run by -W): every pip install checks hashes, and
    none fetches an unpinned package (the old `pip install --upgrade pip`)."""
    installs = [line for line in _recipe(".venv/.installed").splitlines() if " install " in line]
    assert installs, "the recipe installs nothing?"
    for line in installs:
        assert "--require-hashes" in line, line
        assert "--upgrade" not in line, line
    assert any(
        "-r requirements.lock" in line and "-r requirements-dev.lock" in line for line in installs
    )


def test_make_lock_writes_hashes() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    compiles = [line for line in makefile.splitlines() if "pip compile" in line]
    assert len(compiles) == 2
    assert all("--generate-hashes" in line for line in compiles), compiles


def test_make_test_runs_the_dependency_audit_over_both_locks() -> None:
    test = _recipe("test")
    audit = [line for line in test.splitlines() if "pip_audit" in line]
    assert audit, "make test runs no pip-audit"
    (line,) = audit
    assert "-r requirements.lock" in line
    assert "-r requirements-dev.lock" in line
    # Reads the pins (with their hashes) as they are: no resolver, no install.
    assert "--require-hashes" in line
    assert "--disable-pip" in line
    pytest_line = next(i for i, text in enumerate(test.splitlines()) if "-m pytest" in text)
    assert test.splitlines().index(line) < pytest_line, "the audit runs before the tests"
    dev = (REPO / "requirements-dev.lock").read_text(encoding="utf-8")
    assert re.search(r"^pip-audit==", dev, re.M), "pip-audit is pinned in the dev lock"


def test_every_ignored_vulnerability_says_why() -> None:
    """A vulnerable pin with no fixed release may be ignored, never silently."""
    lines = (REPO / "Makefile").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "--ignore-vuln" in line and not line.lstrip().startswith("#"):
            assert lines[i - 1].lstrip().startswith("#"), f"no reason above: {line!r}"


def _dockerfile_filter() -> str:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"awk '([^']+)' /tmp/requirements\.lock > /tmp/requirements\.txt", dockerfile)
    assert match, "the Dockerfile's deps stage filters the lock with awk"
    assert re.search(r"pip install [^\n]*--require-hashes -r /tmp/requirements\.txt", dockerfile)
    return match[1]


def test_the_image_installs_the_lock_with_hashes_and_without_pgserver(tmp_path: Path) -> None:
    """The Dockerfile's own filter, run on the real lock: pgserver's whole entry goes (its
    --hash lines too, or pip would read them as another requirement's), the rest is intact."""
    awk = require_tool("awk")
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    done = subprocess.run(
        [awk, _dockerfile_filter()], input=lock, capture_output=True, text=True, check=True
    )
    kept, everything = _blocks(done.stdout), _blocks(lock)
    assert "pgserver" in everything
    assert set(kept) == set(everything) - {"pgserver"}
    assert all(kept[name] == everything[name] for name in kept)
