"""The checked-in JSON Schemas are the models' own: a changed contract is a visible diff."""

from __future__ import annotations

from tooling.schemas import SCHEMA_DIR, render_schemas


def test_exported_schemas_match_the_models() -> None:
    rendered = render_schemas()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    assert on_disk == rendered, "run `make schemas` and commit eventing/schemas/"
