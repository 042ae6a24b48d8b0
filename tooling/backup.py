"""`python -m tooling.backup` (`make backup`) and `python -m tooling.backup restore FILE`
(`make restore FILE=...`): the whole shop in one file, and back.

A backup is one `.tar.gz` under `backups/` (mode 0600: it holds every password hash and the
signing keys) with

- `database.dump`: `pg_dump --format=custom` of the whole database, embedded or
  `DATABASE_URL` — one snapshot (pg_dump's repeatable-read transaction), so the ledger, the
  stock and the outboxes agree with each other whatever the functions were doing;
- `keys/signing-key.pem` and `identities/*.pem` from the data directory: without the
  signing key every session ends; the identity keys are the functions' event identities;
- `manifest.json`: when, from where, the server's and pg_dump's versions, the migrations
  applied, and the sha256 and size of every other member (checked before a restore touches
  anything).

Roles are not in the dump (they belong to the server, not the database) and neither are
grants or owners: a restore runs pg_restore with `--no-owner --no-acl` in one transaction,
then provisioning (as `make run` does at start) creates the domain roles, their search
path and their least-privilege grants, and applies any migration newer than the backup.
The runner gives every role a new password at start, so none needs restoring.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shared.db.migrations import RELAY, Domain, provision
from tooling.manifests import REPO_ROOT, load_topology
from tooling.runner.database import EmbeddedPostgres
from tooling.runner.settings import RunnerSettings
from tooling.runner.system import database_domains, git_revision

FORMAT = 1
DUMP = "database.dump"
MANIFEST = "manifest.json"
# Key folders of the data directory that a backup carries (publishers.json is derived).
KEY_DIRS = ("keys", "identities")
_MEMBER = re.compile(r"^(database\.dump|manifest\.json|(keys|identities)/[A-Za-z0-9_.-]+\.pem)$")


class BackupError(RuntimeError):
    """What the operator must fix; the message says how."""


@dataclass(frozen=True)
class Target:
    """Where the database is: its superuser DSN, and a label for messages."""

    dsn: str
    label: str


# -- PostgreSQL client programs ----------------------------------------------------------


def _candidates(program: str) -> list[Path]:
    """pgserver's own binaries first (the embedded server's version), then PATH's."""
    found: list[Path] = []
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        found.append(Path(POSTGRES_BIN_PATH) / program)
    except ImportError:  # pragma: no cover - pgserver is in requirements.lock
        pass
    on_path = shutil.which(program)
    if on_path:
        found.append(Path(on_path))
    return [p for p in found if p.exists()]


def _major(program: Path) -> int:
    out = subprocess.run(  # noqa: S603 - a PostgreSQL client program, fixed arguments
        [str(program), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    if not match:
        raise BackupError(f"{program}: cannot tell its version from {out!r}")
    return int(match.group(1))


def client_program(program: str, server_major: int) -> Path:
    """A pg_dump/pg_restore at least as new as the server: an older pg_dump refuses a newer
    server, and an archive can be read only by a pg_restore as new as the pg_dump that
    wrote it (both come from the same place here)."""
    tried = []
    for path in _candidates(program):
        major = _major(path)
        if major >= server_major:
            return path
        tried.append(f"{path} ({major})")
    raise BackupError(
        f"no {program} for PostgreSQL {server_major}: found {', '.join(tried) or 'none'}."
        f" Install the PostgreSQL {server_major} client programs."
    )


def _libpq_env(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password, and the environment carrying it (a password on a
    command line is visible to every user of the machine in `ps`)."""
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = password
    return make_conninfo(**params), env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} failed ({done.returncode}):\n{done.stderr.strip()}")


# -- the database ------------------------------------------------------------------------


def _database(settings: RunnerSettings, stack: ExitStack, *, create: bool) -> Target:
    if settings.database_url:
        return Target(settings.database_url.get_secret_value(), "PostgreSQL at DATABASE_URL")
    pgdata = settings.data_dir / "pg"
    if not create and not (pgdata / "PG_VERSION").exists():
        raise BackupError(f"no embedded database in {pgdata}: nothing to back up")
    # Shares the server when `make run` has it up; starts (and then stops) it otherwise.
    embedded = stack.enter_context(EmbeddedPostgres(settings.data_dir))
    return Target(embedded.url, f"embedded PostgreSQL in {pgdata}")


def _server_facts(dsn: str, schemas: list[str]) -> dict[str, Any]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version'),"
            " current_database()"
        ).fetchone()
        assert row is not None
        present = [
            str(r[0])
            for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY nspname",
                (schemas,),
            ).fetchall()
        ]
        migrations: dict[str, list[str]] = {}
        for schema in present:
            rows = conn.execute(
                sql.SQL("SELECT version FROM {}.schema_migrations ORDER BY version").format(
                    sql.Identifier(schema)
                )
            ).fetchall()
            migrations[schema] = [str(r[0]) for r in rows]
    return {
        "server_major": int(row[0]) // 10000,
        "server_version": str(row[1]),
        "database": str(row[2]),
        "schemas": present,
        "migrations": migrations,
    }


def shop_schemas() -> list[str]:
    """Every domain schema the manifests name (the relay has a role, no schema)."""
    return [d for d in database_domains(load_topology()) if d != RELAY]


# -- backup ------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def backup(settings: RunnerSettings, out_dir: Path) -> Path:
    """Write one archive to `out_dir`; its path."""
    schemas = shop_schemas()
    started = time.monotonic()
    with ExitStack() as stack:
        target = _database(settings, stack, create=False)
        facts = _server_facts(target.dsn, schemas)
        if not facts["schemas"]:
            raise BackupError(f"{target.label} holds none of the shop's schemas")
        pg_dump = client_program("pg_dump", facts["server_major"])
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=_private_dir(out_dir))))
        dsn, env = _libpq_env(target.dsn)
        dump = work / DUMP
        _run(
            [str(pg_dump), "--format=custom", "--compress=6", f"--file={dump}", f"--dbname={dsn}"],
            env,
            "pg_dump",
        )
        members: dict[str, Path] = {DUMP: dump}
        for folder in KEY_DIRS:
            for key in sorted((settings.data_dir / folder).glob("*.pem")):
                members[f"{folder}/{key.name}"] = key
        now = datetime.now(UTC)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(timespec="seconds"),
            "source": target.label,
            "revision": git_revision(),
            "pg_dump": f"{pg_dump} (PostgreSQL {_major(pg_dump)})",
            **facts,
            "signing_key_from_environment": settings.auth_signing_key is not None,
            "dump_seconds": round(time.monotonic() - started, 3),
            "files": {
                name: {"sha256": _sha256(path), "bytes": path.stat().st_size}
                for name, path in members.items()
            },
        }
        archive = out_dir / f"acougue-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
        partial = work / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
            for name, path in members.items():
                tar.add(path, arcname=name, recursive=False, filter=_private_member)
        n = 1
        while archive.exists():  # two backups in one second: never overwrite one
            archive = out_dir / f"acougue-{now.strftime('%Y%m%dT%H%M%SZ')}-{n}.tar.gz"
            n += 1
        partial.replace(archive)  # whole or absent: a crash leaves no half archive
    return archive


def _private_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


# -- restore -----------------------------------------------------------------------------


def _unpack(archive: Path, into: Path) -> dict[str, Any]:
    """The archive's members in `into`, each checked against the manifest; the manifest."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            names = []
            for info in tar.getmembers():
                if not info.isfile() or not _MEMBER.match(info.name):
                    raise BackupError(f"{archive}: unexpected member {info.name!r}")
                names.append(info.name)
            if MANIFEST not in names or DUMP not in names:
                raise BackupError(f"{archive}: not a backup (no {MANIFEST} or {DUMP})")
            tar.extractall(into, members=tar.getmembers(), filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive}: cannot read it: {exc}") from None
    manifest: dict[str, Any] = json.loads((into / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: backup format {manifest.get('format')!r}, not {FORMAT}")
    listed = set(manifest["files"])
    present = set(names) - {MANIFEST}
    if listed != present:
        raise BackupError(f"{archive}: members {sorted(present ^ listed)} differ from its manifest")
    for name, expected in manifest["files"].items():
        if _sha256(into / name) != expected["sha256"]:
            raise BackupError(f"{archive}: {name} is damaged (its sha256 is not the manifest's)")
    return manifest


def _refuse_non_empty(settings: RunnerSettings) -> None:
    """A restore never merges into or overwrites a shop: only an empty place takes one."""
    data_dir = settings.data_dir
    found = [
        str(data_dir / d)
        for d in (*KEY_DIRS, *(() if settings.database_url else ("pg",)))
        if (data_dir / d).exists() and any((data_dir / d).iterdir())
    ]
    if found:
        raise BackupError(
            f"refusing to restore: {', '.join(found)} hold a shop's data already. Restore into"
            " an empty data directory (ACOUGUE_DATA_DIR=<new folder> make restore FILE=...),"
            " or move this one away first; nothing was changed."
        )


def _refuse_existing_schemas(dsn: str, label: str, schemas: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY nspname",
            (schemas,),
        ).fetchall()
    if rows:
        raise BackupError(
            f"refusing to restore: {label} already has the shop's schemas"
            f" ({', '.join(str(r[0]) for r in rows)}). Restore into a new, empty database;"
            " nothing was changed."
        )


def _copy_keys(unpacked: Path, manifest: dict[str, Any], data_dir: Path) -> list[str]:
    copied = []
    for name in manifest["files"]:
        folder, _, filename = name.partition("/")
        if folder not in KEY_DIRS:
            continue
        dest = _private_dir(data_dir / folder) / filename
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write((unpacked / name).read_bytes())
        copied.append(name)
    return copied


async def _provision(dsn: str, settings: RunnerSettings) -> list[str]:
    domains = database_domains(load_topology())
    passwords = {
        d: os.environ[f"ACOUGUE_DB_PASSWORD_{d.upper()}"]
        for d in domains
        if os.environ.get(f"ACOUGUE_DB_PASSWORD_{d.upper()}")
    }
    return await provision(
        dsn,
        [Domain(d, REPO_ROOT / "functions" / d / "migrations") for d in domains],
        role_prefix=settings.role_prefix,
        passwords=passwords,
    )


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    target: str
    keys: list[str]
    migrations_applied: list[str]
    seconds: float


def restore(settings: RunnerSettings, archive: Path) -> Restored:
    """Bring `archive` back into an empty data directory (and database); refuses anything
    else before changing anything."""
    started = time.monotonic()
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    _refuse_non_empty(settings)
    schemas = shop_schemas()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        manifest = _unpack(archive, work)
        if settings.database_url:
            _refuse_existing_schemas(
                settings.database_url.get_secret_value(), "DATABASE_URL", schemas
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        target = _database(settings, stack, create=True)
        facts = _server_facts(target.dsn, schemas)
        if facts["schemas"]:  # an embedded folder we were told is empty: still never merge
            _refuse_existing_schemas(target.dsn, target.label, schemas)
        pg_restore = client_program("pg_restore", facts["server_major"])
        dsn, env = _libpq_env(target.dsn)
        _run(
            [
                str(pg_restore),
                "--no-owner",
                "--no-acl",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={dsn}",
                str(work / DUMP),
            ],
            env,
            "pg_restore",
        )
        applied = asyncio.run(_provision(target.dsn, settings))
        keys = _copy_keys(work, manifest, settings.data_dir)
    return Restored(manifest, target.label, keys, applied, round(time.monotonic() - started, 3))


# -- command line ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.backup", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    make = commands.add_parser("backup", help="write a backup (the default)")
    make.add_argument("--dir", type=Path, default=REPO_ROOT / "backups")
    back = commands.add_parser("restore", help="restore a backup into an empty data directory")
    back.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    settings = RunnerSettings()
    try:
        if args.command == "restore":
            done = restore(settings, args.file)
            made = done.manifest["created_at"]
            print(f"restored {args.file} (made {made}) into {done.target} in {done.seconds} s")
            print(f"  schemas: {', '.join(done.manifest['schemas'])}")
            print(f"  keys: {', '.join(done.keys) or 'none were in the backup'}")
            if done.migrations_applied:
                print(f"  newer migrations applied: {', '.join(done.migrations_applied)}")
            print("Start the shop with `make run` (same ACOUGUE_DATA_DIR / DATABASE_URL).")
        else:
            started = time.monotonic()
            archive = backup(settings, getattr(args, "dir", REPO_ROOT / "backups"))
            size = archive.stat().st_size
            print(
                f"backup written: {archive} ({size / 1024:.0f} KiB,"
                f" {time.monotonic() - started:.1f} s). It holds password hashes and the"
                " signing keys: keep copies off this machine, somewhere only the owner reads."
            )
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
