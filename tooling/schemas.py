"""`python -m tooling.schemas`: write every payload's JSON Schema to eventing/schemas/.

The files are checked in; a test compares them with the models, so a changed contract is a
visible diff in review.
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.events.registry import registered_types
from tooling.manifests import REPO_ROOT

SCHEMA_DIR = REPO_ROOT / "eventing" / "schemas"


def render_schemas() -> dict[str, str]:
    rendered = {}
    for type_, model in registered_types().items():
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:acougue:event:{type_}",
            **model.model_json_schema(),
        }
        rendered[f"{type_}.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return rendered


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        print(path.relative_to(REPO_ROOT))
