"""Reading stack files (no Pulumi import: the CLI validates before loading the runtime)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .spec import Problem, SpecError


def load_stack_file(path: Path) -> tuple[Any, dict[str, Any]]:
    """``(tenancy:platform object, other config keys)`` from a Pulumi stack file
    (``config: {tenancy:platform: …}``), or from a YAML file holding the platform object itself."""
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(str(path), f"is not valid YAML: {exc}")]) from None
    if isinstance(doc, dict) and "config" in doc:
        config = doc["config"]
        if not isinstance(config, dict) or "tenancy:platform" not in config:
            raise SpecError([Problem(f"{path}: config", "has no `tenancy:platform` object; add one (see README)")])
        return config["tenancy:platform"], {k: v for k, v in config.items() if k != "tenancy:platform"}
    return doc, {}


def stack_name(path: Path) -> str:
    """``Pulumi.dev.yaml`` → ``dev``; ``acme.yaml`` → ``acme``."""
    stem = Path(path).name
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    return stem.removeprefix("Pulumi.")
