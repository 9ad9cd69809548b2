"""Reading stack files (no Pulumi import: the CLI validates before loading the runtime)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tenancy.spec.errors import Problem, SpecError


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate keys in a mapping (Pulumi refuses such stack files;
    PyYAML would silently keep the last value)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1}); keep one",
                key_node.start_mark)
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]

# Booleans as Pulumi reads them. PyYAML follows YAML 1.1, where an unquoted yes/no/on/off is a
# boolean; Pulumi reads stack files with Go's gopkg.in/yaml.v3 (YAML 1.2 core schema: only
# true/false, in any of three casings), so `internetEgress: yes` reaches the program as the
# string "yes". Read them the same way, so that `tenancy check` refuses what `pulumi up` refuses.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_yaml(path: Path) -> Any:
    """Parse a YAML file strictly: duplicate keys rejected; errors name the file and line
    (``Pulumi.dev.yaml:12:5: …``) as a :class:`SpecError`."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        what = " ".join(str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x)
        raise SpecError([Problem(where, f"is not valid YAML: {what or exc}")]) from None


def load_config(path: Path) -> dict[str, Any]:
    """Every config key of a Pulumi stack file (``config:``), whatever its namespace."""
    doc = read_yaml(path)
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise SpecError([Problem(f"{path}: config", "is not a mapping of config keys; see Pulumi's stack file format")])
    return dict(doc.get("config") or {})


def load_stack_file(path: Path) -> tuple[Any, dict[str, Any]]:
    """``(tenancy:platform object, other config keys)`` from a Pulumi stack file
    (``config: {tenancy:platform: …}``), or from a YAML file holding the platform object itself."""
    doc = read_yaml(path)
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
