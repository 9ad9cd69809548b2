"""The evidence report of ``tenancy verify``: every check run, with its result, as Markdown and JSON.

A :class:`Result` names the check (``drift.kubernetes``, ``behaviour.rbac``, …), the tenant it is
about (``None`` for platform-wide checks), the object (``Kind namespace/name``, an AWS resource,
or a probe) and what was seen. ``status`` is ``pass``, ``fail`` or ``skip`` (a check that does not
apply to this render, with the reason). JSON shape::

    {"tool": "tenancy verify", "version": "...", "time": "2026-12-01T12:00:00Z",
     "identity": {"kubernetes": "user (groups)", "aws": "arn:aws:sts::…"},
     "render": {"path", "project", "stack", "tenants": [...]},
     "summary": {"pass": n, "fail": n, "skip": n},
     "checks": [{"check", "status", "tenant", "object", "detail"}]}
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"

CHECKS: dict[str, str] = {
    "drift.kubernetes": "every rendered in-cluster object exists with its rendered isolation settings",
    "drift.kubernetes.extra": "nothing outside the render grants, opens or binds in a tenant namespace",
    "drift.aws": "every rendered security group, node group and IAM role exists with its rendered settings",
    "drift.aws.extra": "no rule on a tenant security group and no policy on a tenant role outside the render",
    "isolation": "the isolation facts of the live platform are no looser than the render's",
    "behaviour.rbac": "each persona cannot reach other tenants' objects, write its own fences or escalate "
                      "(SubjectAccessReview)",
    "behaviour.admission": "as each tenant's editor, server-side dry-run creates: a pinned restricted pod is "
                           "admitted; pods off their nodes, privileged pods, externalIPs and ExternalName "
                           "Services are refused",
    "drift.s3-ranges": "each tenant's tenancy-allow-s3 NetworkPolicy allows exactly the ranges AWS's S3 prefix "
                       "list holds now (the policy copies them at deploy time)",
    "drift.policy-endpoints": "what the VPC CNI's network policy agent was told to enforce (PolicyEndpoints) is what "
                              "each live NetworkPolicy says",
    "behaviour.s3": "each workload role reaches its own S3 prefix and no other tenant's",
    "behaviour.placement": "every tenant node group carries its tenant's taint",
    "behaviour.network": "no security group admits another tenant unless the render declares it",
}
"""Every check verify runs, with what it establishes when it passes (the report's legend)."""


@dataclass(frozen=True)
class Result:
    check: str
    status: str
    tenant: str | None
    object: str
    detail: str = ""

    def line(self) -> str:
        who = f"tenant {self.tenant}" if self.tenant else "platform"
        return f"[{self.check}] {who}: {self.object}" + (f": {self.detail}" if self.detail else "")


def passed(check: str, tenant: str | None, obj: str, detail: str = "") -> Result:
    return Result(check, PASS, tenant, obj, detail)


def failed(check: str, tenant: str | None, obj: str, detail: str) -> Result:
    return Result(check, FAIL, tenant, obj, detail)


def skipped(check: str, tenant: str | None, obj: str, detail: str) -> Result:
    return Result(check, SKIP, tenant, obj, detail)


@dataclass
class Report:
    render: dict[str, Any]
    identity: dict[str, str]
    results: list[Result] = field(default_factory=list)
    time: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc)
                      .replace(microsecond=0).isoformat().replace("+00:00", "Z"))

    def add(self, results: Iterable[Result]) -> None:
        self.results.extend(results)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status == FAIL]

    def summary(self) -> dict[str, int]:
        out = {PASS: 0, FAIL: 0, SKIP: 0}
        for r in self.results:
            out[r.status] += 1
        return out

    def document(self) -> dict[str, Any]:
        return {"tool": "tenancy verify", "version": _version(), "time": self.time, "identity": self.identity,
                "render": self.render, "summary": self.summary(),
                "checks": [asdict(r) for r in sorted(self.results, key=_order)]}

    def json(self) -> str:
        return json.dumps(self.document(), indent=2, sort_keys=True) + "\n"

    def markdown(self) -> str:
        s = self.summary()
        r = self.render
        verdict = "**FAILED**" if s[FAIL] else "**all checks hold**"
        lines = [f"# tenancy verify — `{r.get('project')}` / `{r.get('stack')}`", "",
                 f"- Time (UTC): {self.time}",
                 *(f"- Identity ({k}): `{v}`" for k, v in sorted(self.identity.items())),
                 f"- Render: `{r.get('path')}` ({len(r.get('tenants') or [])} tenant(s): "
                 f"{', '.join(r.get('tenants') or []) or '—'})",
                 f"- Result: {verdict} — {s[PASS]} passed, {s[FAIL]} failed, {s[SKIP]} skipped", ""]
        lines += ["## Checks", "", "| check | what it establishes | pass | fail | skip |", "|---|---|---|---|---|"]
        by_check: dict[str, dict[str, int]] = {}
        for x in self.results:
            by_check.setdefault(x.check, {PASS: 0, FAIL: 0, SKIP: 0})[x.status] += 1
        for name in sorted(by_check):
            c = by_check[name]
            lines.append(f"| `{name}` | {CHECKS.get(name, '')} | {c[PASS]} | {c[FAIL]} | {c[SKIP]} |")
        if self.failures:
            lines += ["", "## Failures", "", "| check | tenant | object | detail |", "|---|---|---|---|"]
            lines += [f"| `{x.check}` | {_cell(x.tenant)} | {_cell(x.object)} | {_cell(x.detail)} |"
                      for x in sorted(self.failures, key=_order)]
        skips = [x for x in self.results if x.status == SKIP]
        if skips:
            lines += ["", "## Skipped", "", "| check | tenant | object | reason |", "|---|---|---|---|"]
            lines += [f"| `{x.check}` | {_cell(x.tenant)} | {_cell(x.object)} | {_cell(x.detail)} |"
                      for x in sorted(skips, key=_order)]
        lines += ["", "## Every check", "", "<details><summary>"
                  f"{len(self.results)} results</summary>", "", "| status | check | tenant | object | detail |",
                  "|---|---|---|---|---|"]
        lines += [f"| {x.status} | `{x.check}` | {_cell(x.tenant)} | {_cell(x.object)} | "
                  f"{_cell(x.detail, DETAIL_LIMIT)} |" for x in sorted(self.results, key=_order)]
        lines += ["", "</details>", ""]
        return "\n".join(lines)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tenancy")
    except PackageNotFoundError:
        return "unknown"


def _order(r: Result) -> tuple[Any, ...]:
    return ({FAIL: 0, SKIP: 1, PASS: 2}[r.status], r.check, r.tenant or "", r.object, r.detail)


def _cell(v: Any, limit: int | None = None) -> str:
    s = "—" if v in (None, "") else str(v)
    s = s.replace("|", "\\|").replace("\n", " ")
    return s if limit is None else clip(s, limit)


DETAIL_LIMIT = 240
"""Characters of a detail shown in the report's "Every check" table (failures, skips and the JSON
output keep the whole text)."""


def clip(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else cut at the last word boundary before the
    limit, followed by `` …`` — never in the middle of a word (a word longer than the limit is
    kept whole)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    if cut <= 0:
        end = text.find(" ", limit)
        return text if end < 0 else text[:end] + " …"
    return text[:cut].rstrip(" ,;:") + " …"


def from_document(doc: Mapping[str, Any]) -> list[Result]:
    """The results of a JSON report (for tooling that reads yesterday's evidence)."""
    return [Result(c["check"], c["status"], c.get("tenant"), c["object"], c.get("detail", "")) for c in doc["checks"]]
