"""Each function's identity key, and the broker's delivery key, on this machine.

The runner plays the part the cluster's ServiceAccounts play for Knative's OIDC: every
function gets its own Ed25519 key (a file only this user can read, kept across runs in the
data directory), and the broker gets the public halves, by function, to tell publishers
apart. Anyone who can read these files can speak for a function — as anyone who can read a
pod's mounted token can in a cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from shared.auth.tokens import generate_private_key_pem, load_private_key, public_jwk

BROKER_KEY = "broker"


def _key_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.pem"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_private_key_pem())
    return path


class Identities:
    """Key files under `<data dir>/identities`: `<function>.pem`, `broker.pem`, and
    `publishers.json` (the functions' public keys, for the broker's ingress)."""

    def __init__(self, data_dir: Path, functions: Iterable[str]) -> None:
        self.folder = data_dir / "identities"
        self.keys = {name: _key_file(self.folder, name) for name in sorted(functions)}
        self.broker_key = _key_file(self.folder, BROKER_KEY)
        public = {
            name: public_jwk(load_private_key(path.read_text()).public_key())
            for name, path in self.keys.items()
        }
        self.publishers = self.folder / "publishers.json"
        self.publishers.write_text(json.dumps(public, indent=1, sort_keys=True))

    def key_of(self, function: str) -> Path:
        return self.keys[function]
