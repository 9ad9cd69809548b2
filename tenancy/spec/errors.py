"""Problems with a spec, reported all at once: where (``tenants[2].slot``), what to do, and which
tenant the path points into. Shared by the platform spec, its loading checks and the fleet file."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (``tenants[2].slot``) and what to do."""

    path: str
    message: str
    tenant: str | None = None
    """The name of the tenant ``path`` points into (``tenants[17]``), when known: shown as
    ``tenants[17] (billing).slot``. ``path`` itself stays machine-readable."""

    def __str__(self) -> str:
        return f"{self.display_path}: {self.message}" if self.path else self.message

    @property
    def display_path(self) -> str:
        if self.tenant is None:
            return self.path
        m = re.match(r"^(tenants|nodePools)\[\d+\]", self.path)
        return f"{m.group(0)} ({self.tenant}){self.path[m.end():]}" if m else self.path


class SpecError(ValueError):
    """The spec is invalid. ``problems`` lists every problem found, in input order."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid platform spec ({len(problems)} problem(s)):\n{lines}")



def dedupe(problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` in order, each once."""
    return list(dict.fromkeys(problems))


def format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out

def _model_in(ann: Any) -> Any:
    """The model type inside an annotation (``Model``, ``list[Model] | None``,
    ``list[Annotated[Model, ...]]``), or None."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    if hasattr(ann, "__metadata__"):  # Annotated[X, ...]
        return _model_in(ann.__origin__)
    return next((m for m in map(_model_in, getattr(ann, "__args__", ())) if m is not None), None)


def _known_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if f.alias == part or n == part), None)
        if field is None:
            return []
        inner = _model_in(field.annotation)
        if inner is None:
            return []
        model = inner
    return [f.alias or n for n, f in model.model_fields.items()]

def _described(value: Any) -> str:
    """``'yes'`` → ``the string 'yes'``; ``1`` → ``the number 1``: what a strict field was given."""
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"


def problems_from_pydantic(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """pydantic's errors for a ``root`` model as problems, each with its path and the fix (an unknown key
    names the closest known one)."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = format_path(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            known = _known_keys(root, loc[:-1])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            out.append(Problem(path, f"unknown key {key!r}; remove it ({hint})"))
        elif kind == "missing":
            out.append(Problem(path, "is required; add it"))
        elif kind in ("value_error", "assertion_error"):
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
            out.append(Problem(path, msg))
        elif kind in ("bool_type", "bool_parsing"):
            out.append(Problem(path, f"must be true or false, got {_described(err.get('input'))}; write true or "
                                     "false, unquoted (nothing else is read as a yes or a no)"))
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            out.append(Problem(path, f"must be a whole number, got {_described(err.get('input'))}; write the "
                                     "number unquoted (e.g. 5, not \"5\")"))
        else:
            out.append(Problem(path, f"{err['msg']} (got {err.get('input')!r}); fix the value"))
    return out
