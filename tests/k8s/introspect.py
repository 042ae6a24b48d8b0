"""`python -m tests.k8s.introspect MODULE [TARGET]`, run by the tests in a clean process.

The test gives this process exactly the environment a Knative Service's manifest would give
the function (secrets replaced by well-formed stand-ins), imports the function's module —
which builds its settings object, so a missing or malformed setting fails here as it would
at start in the cluster — and prints, as JSON: the settings classes and their variables, and
which CloudEvent types the TARGET's subscribers handle.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Iterator
from typing import Any

from pydantic_settings import BaseSettings


def _env_names(cls: type[BaseSettings]) -> list[dict[str, Any]]:
    prefix = str(cls.model_config.get("env_prefix") or "")
    found: list[dict[str, Any]] = []
    for name, field in cls.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else None
        env = alias or field.alias or f"{prefix}{name}"
        found.append({"env": env.upper(), "required": field.is_required()})
    return found


def _all_settings_classes() -> Iterator[type[BaseSettings]]:
    stack = list(BaseSettings.__subclasses__())
    seen: set[type[BaseSettings]] = set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith(("shared.", "functions.")):
            yield cls


def _referenced(func: types.FunctionType, module: types.ModuleType) -> Iterator[object]:
    """Module-level objects a function uses, following the module's own functions."""
    seen: set[int] = set()
    pending = [func]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        codes = [current.__code__]
        while codes:
            code = codes.pop()
            codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
            for name in code.co_names:
                value = module.__dict__.get(name)
                if value is None:
                    continue
                yield value
                wrapped = getattr(value, "__wrapped__", value)
                if (
                    isinstance(wrapped, types.FunctionType)
                    and wrapped.__module__ == module.__name__
                ):
                    pending.append(wrapped)


def main(argv: list[str]) -> int:
    module_name = argv[0]
    target = argv[1] if len(argv) > 1 else None
    module = importlib.import_module(module_name)
    importlib.import_module("tooling.provision")  # the cluster Job's settings are known names
    from shared.subscriber import Subscriber

    own = {type(v) for v in module.__dict__.values() if isinstance(v, BaseSettings)}
    report: dict[str, Any] = {
        "settings": [
            {"class": f"{c.__module__}.{c.__qualname__}", "fields": _env_names(c)} for c in own
        ],
        "known_env": sorted({f["env"] for cls in _all_settings_classes() for f in _env_names(cls)}),
        "subscribers": [],
    }
    if target is not None:
        func = getattr(module, target)
        func = getattr(func, "__wrapped__", func)
        for value in _referenced(func, module):
            if isinstance(value, Subscriber):
                handles = sorted(value.handlers) + (["*"] if value.every_event else [])
                report["subscribers"].append(
                    {"class": type(value).__qualname__, "handles": handles}
                )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
