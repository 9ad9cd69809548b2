"""``tenancy deploy-tenants``: the in-cluster layer as one platform stack and one stack per tenant
(:mod:`tenancy.components.tenant_stacks`), run through Pulumi's Automation API by the platform's
pipeline — only the stacks whose objects changed (docs/scaling.md).

How it runs:

* **Only what changed.** Each stack's fingerprint (:func:`tenancy.plan.tenant_stacks.fingerprints`:
  a hash of exactly the objects it registers) is compared with the one recorded after its last
  successful ``up`` in the *ledger* (a JSON file, ``WORK/deployed.json`` by default; keep it with
  the pipeline's state). Unchanged stacks are skipped without starting the CLI; a stack missing
  from the ledger (first run, lost ledger) is run — ``up`` is idempotent, so a lost ledger costs
  time, never correctness. ``force=True`` runs every stack.
* **The platform stack first**, alone; if it fails no tenant stack runs (no tenant namespace may
  exist before the placement policy). With ``platform_stack`` there is none here: the AWS
  Platform stack (``tenancy:inCluster: tenant-stacks``) holds the cluster-wide objects.
* **Tenant stacks in parallel**, at most ``parallel`` at once (each ``Stack.up`` blocks: one
  thread each, as :mod:`tenancy.fleet.deploy` does), each in its own work directory
  (``WORK/<stack>/``: the "current stack" of a directory is not safe to share, pulumi/pulumi#8186).
  A tenant no longer in the spec has its stack destroyed (its namespace is retained, as with the
  monolithic program) and removed.
* **One identity**: every stack uses the platform's kubeconfig (``tenancy:kubeconfig``) or the
  platform stack's ``kubeconfig`` output (``tenancy:platformStack``), so the fences are written by
  the platform's identity, never a team's.
* The spec is written once (``WORK/platform.json``) and read by every stack (``tenancy:platformFile``):
  no per-stack ``pulumi config set`` calls.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tenancy.plan import tenant_stacks as plan
from tenancy.plan.validate import load_platform

PROJECT = "tenancy-inclusters"
PROGRAM = "from tenancy.program import tenant_stacks_main\n\ntenant_stacks_main()\n"


@dataclass
class StackResult:
    stack: str
    op: Literal["up", "destroy", "skipped"]
    status: Literal["succeeded", "failed", "skipped"] = "skipped"
    seconds: float = 0.0
    changes: dict[str, int] = field(default_factory=dict)
    error: str = ""


class TenantStacks:
    """Opens the stacks through the Automation API: ``WORK/<stack>/`` holds a generated project
    (``Pulumi.yaml`` running :func:`tenancy.program.tenant_stacks_main` with this interpreter's
    environment) and the stack's config file."""

    def __init__(self, work_root: Path, *, env: Mapping[str, str], kubeconfig: str | None = None,
                 platform_stack: str | None = None, pulumi_root: Path | None = None,
                 virtualenv: str | None = None, adopt: bool = False):
        from pulumi import automation as auto

        if not kubeconfig and not platform_stack:
            raise ValueError("pass kubeconfig (the platform's, path or contents) or platform_stack (a stack "
                             "exporting kubeconfig, e.g. the AWS platform stack)")
        self.auto = auto
        self.work_root = Path(work_root).resolve()
        self.env = dict(env)
        self.config = {"tenancy:platformFile": str(self.work_root / "platform.json")}
        self.platform_stack = None if kubeconfig else platform_stack
        """The AWS Platform stack (``tenancy:inCluster: tenant-stacks``): it holds the cluster-wide
        objects, so the runner then has no platform stack of its own."""
        if adopt:  # the provider's upsertExistingObjects (tenancy.program.tenant_stacks_main)
            self.config["tenancy:adopt"] = "true"
        if kubeconfig:
            self.config["tenancy:kubeconfig"] = kubeconfig
        else:
            self.config["tenancy:platformStack"] = str(platform_stack)
        self.virtualenv = virtualenv or sys.prefix
        self.pulumi_root = pulumi_root
        self.command = auto.PulumiCommand(root=str(pulumi_root)) if pulumi_root else None

    def write_spec(self, data: Mapping[str, Any]) -> None:
        self.work_root.mkdir(parents=True, exist_ok=True)
        (self.work_root / "platform.json").write_text(json.dumps(data, sort_keys=True))

    def open(self, stack: str, tenants: Sequence[str] = ()) -> Any:
        """The stack ``stack`` (created if new) holding ``tenants`` (none: the platform stack)."""
        wd = self.work_root / stack
        wd.mkdir(parents=True, exist_ok=True)
        project = {"name": PROJECT, "main": "__main__.py",
                   "runtime": {"name": "python", "options": {"virtualenv": self.virtualenv}}}
        (wd / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        (wd / "__main__.py").write_text(PROGRAM)
        opts = self.auto.LocalWorkspaceOptions(work_dir=str(wd), env_vars=self.env, pulumi_command=self.command,
                                               pulumi_home=self.env.get("PULUMI_HOME"))
        st = self.auto.create_or_select_stack(stack, work_dir=str(wd), opts=opts)
        # The stack's config file, written directly (one CLI call less per stack); `create`
        # wrote its encryption salt, kept.
        path = wd / f"Pulumi.{stack}.yaml"
        doc = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        doc["config"] = {**self.config, **({"tenancy:tenants": list(tenants)} if tenants else {})}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return st


def _changes(summary: Any) -> dict[str, int]:
    return {k: v for k, v in (summary.resource_changes or {}).items() if k != "same" and v}


PER_STACK_KEY = "#tenants-per-stack"
"""The ledger's record of the grouping its stacks were deployed with."""


def read_ledger(path: Path) -> dict[str, str]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def deploy_tenants(data: Mapping[str, Any], stacks: TenantStacks, *, ledger: Path | None = None,
                   parallel: int = 2, force: bool = False, per_stack: int = plan.DEFAULT_PER_STACK,
                   on_result: Callable[[StackResult], None] | None = None) -> list[StackResult]:
    """Bring the platform stack and the tenant stacks to the spec ``data`` (the platform object):
    the platform stack if changed, then the changed tenants' stacks (``up``) and the removed
    tenants' (``destroy``), ``parallel`` at a time. Returns one result per stack, skipped ones
    included; the ledger records each success as it happens.

    ``per_stack``: tenants per stack (:func:`tenancy.plan.tenant_stacks.stack_of`; default 10, 1: a
    stack per tenant). Fixed for a platform: the ledger records it, and a different value is refused (it
    would move tenants between stacks)."""
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}")
    spec = load_platform(dict(data))
    refused = plan.unsupported(spec, platform_stack=getattr(stacks, "platform_stack", None) is not None)
    if refused:
        raise ValueError("; ".join(refused))
    ledger = ledger or stacks.work_root / "deployed.json"
    deployed = read_ledger(ledger)
    recorded = deployed.pop(PER_STACK_KEY, None)
    if recorded is not None and int(recorded) != per_stack:
        raise ValueError(f"{ledger} was deployed with {recorded} tenant(s) per stack, not {per_stack}: changing it "
                         "moves tenants between stacks (each would be deleted from one and created in another); "
                         f"pass per_stack={recorded} (--tenants-per-stack {recorded})")
    todo = plan.plan_stacks(spec, deployed, force, per_stack)
    current = plan.fingerprints(spec, per_stack)
    stacks.write_spec(data)
    lock = threading.Lock()
    results = [StackResult(s, "skipped") for s in todo.unchanged]

    def record(stack: str, value: str | None) -> None:
        with lock:
            if value is None:
                deployed.pop(stack, None)
            else:
                deployed[stack] = value
            ledger.parent.mkdir(parents=True, exist_ok=True)
            ledger.write_text(json.dumps({**deployed, PER_STACK_KEY: str(per_stack)}, indent=1, sort_keys=True))

    def run(stack: str, tenants: Sequence[str], op: Literal["up", "destroy"]) -> StackResult:
        result = StackResult(stack, op)
        started = time.monotonic()
        try:
            st = stacks.open(stack, tenants)
            if op == "up":
                out = st.up(color="never")
            else:
                out = st.destroy(color="never")
                st.workspace.remove_stack(stack)
            result.changes = _changes(out.summary)
            result.status = "succeeded"
            record(stack, current[stack] if op == "up" else None)
        except Exception as exc:  # noqa: BLE001 - reported per stack
            result.status, result.error = "failed", str(exc).strip().splitlines()[-1][:500] if str(exc) else repr(exc)
        result.seconds = time.monotonic() - started
        if on_result:
            on_result(result)
        return result

    if todo.platform and getattr(stacks, "platform_stack", None) is None:
        first = run(plan.PLATFORM_STACK, (), "up")
        results.append(first)
        if first.status != "succeeded":
            results += [StackResult(s, "up") for s in todo.up] + [StackResult(s, "destroy") for s in todo.destroy]
            return results
    jobs: list[tuple[str, Sequence[str], Literal["up", "destroy"]]] = [
        *((s, t, "up") for s, t in todo.up.items()), *((s, (), "destroy") for s in todo.destroy)]
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results += list(pool.map(lambda job: run(*job), jobs))
    return results


def summary_table(results: list[StackResult]) -> str:
    """Markdown: the stacks that ran (skipped ones counted in one line)."""
    ran = [r for r in results if r.op != "skipped"]
    rows = ["| stack | op | status | seconds | changes |", "|---|---|---|---|---|"]
    rows += [f"| {r.stack} | {r.op} | {r.status} | {r.seconds:.1f} | "
             f"{', '.join(f'{k} {v}' for k, v in sorted(r.changes.items())) or r.error or '-'} |" for r in ran]
    skipped = len(results) - len(ran)
    return "\n".join(rows) + f"\n\n{len(ran)} stack(s) run, {skipped} unchanged (skipped)."
