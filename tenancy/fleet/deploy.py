"""``tenancy fleet preview|up``: the cells' stacks through Pulumi's Automation API
(``pulumi.automation``), not a home-made orchestrator.

How it runs (guardrails-and-fleets.md §2.1 for the pitfalls each point avoids):

* **One workspace and one work directory per stack.** ``create_stack``/``select_stack`` write
  the "current stack" of a work directory, so parallel stacks in one directory corrupt it
  (pulumi/pulumi#8186). Each cell gets ``WORK/<cell>/Pulumi.yaml``: the project file with
  ``main``, the virtualenv and ``stackConfigDir`` pointed back at the project and the stacks
  directory (relative paths: Pulumi joins them to the project file's directory,
  ``sdk/go/common/workspace/paths.go``), so the stack's config stays in ``DIR/Pulumi.<cell>.yaml``.
* **Plugins installed once, before the workers start**, then workers run with
  ``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true``: parallel installs into one
  ``PULUMI_HOME`` race (pulumi/pulumi#22784, #24059). The plugins are the ones the installed
  provider SDKs name in their ``pulumi-plugin.json`` (aws, eks, kubernetes).
* **A bounded worker pool.** ``Stack.up``/``preview`` block (pulumi/pulumi#17776): each runs in
  a thread, at most ``parallel`` at once.
* **Canary first, then waves.** The canary cell runs alone; nothing else starts if it fails.
  Then each wave runs in parallel and must finish before the next starts. For ``up``, a failed
  wave stops the rollout (later cells are reported *skipped*); ``preview`` changes nothing, so
  it previews every cell.
* **Retries on a concurrent-update conflict** (``ConcurrentUpdateError``: HTTP 409 from Pulumi
  Cloud, or "the stack is currently locked by" on a self-managed backend,
  ``pulumi/automation/errors.py``), with exponential back-off. Other errors are not retried.
* **Progress and a summary table**, and a non-zero exit naming the failed and skipped cells.
  Each cell's engine output goes to ``WORK/<cell>/<op>.log``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

Operation = Literal["preview", "up"]
PROVIDER_PACKAGES = ("pulumi_aws", "pulumi_eks", "pulumi_kubernetes")


class CellStack(Protocol):
    """The part of ``pulumi.automation.Stack`` the runner uses."""

    def up(self, **kwargs: Any) -> Any: ...

    def preview(self, **kwargs: Any) -> Any: ...


class StackSource(Protocol):
    """Opens the cells' stacks (the real one: :class:`AutomationStacks`; tests pass fakes)."""

    def install_plugins(self) -> None: ...

    def open(self, cell: str) -> CellStack: ...

    def log_path(self, cell: str, op: Operation) -> Path | None: ...


@dataclass
class CellResult:
    cell: str
    wave: int
    """0 for the canary, then 1, 2, ..."""
    status: Literal["succeeded", "failed", "skipped"] = "skipped"
    attempts: int = 0
    seconds: float = 0.0
    changes: dict[str, int] = field(default_factory=dict)
    error: str = ""


def _is_conflict(exc: BaseException) -> bool:
    from pulumi.automation import ConcurrentUpdateError

    return isinstance(exc, ConcurrentUpdateError)


def _changes(op: Operation, result: Any) -> dict[str, int]:
    if op == "preview":
        summary = getattr(result, "change_summary", None) or {}
    else:
        summary = getattr(getattr(result, "summary", None), "resource_changes", None) or {}
    return {str(getattr(k, "value", k)): int(v) for k, v in dict(summary).items()}


def _writer(sink: Any) -> Callable[[str], None]:
    def write(line: str) -> None:
        sink.write(line + "\n")
        sink.flush()

    return write


def _error_text(exc: BaseException) -> str:
    """One line: the error's class and the engine's most telling line (the last line that
    mentions an error, from stderr then stdout; a Python program's traceback goes to stdout)."""
    result = getattr(exc, "args", [None])[0]
    texts = [getattr(result, "stderr", None) or "", getattr(result, "stdout", None) or ""]
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    if not lines:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [line for line in lines if "error:" in line.lower()] or \
        [line for line in lines if "error" in line.lower()] or lines
    return f"{type(exc).__name__}: {telling[-1] if telling else ''}".strip()


def run_fleet(
    op: Operation,
    waves: Sequence[Sequence[str]],
    source: StackSource,
    *,
    parallel: int = 4,
    retries: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
    stop_on_failure: bool | None = None,
    install_plugins: bool = True,
) -> list[CellResult]:
    """Run ``op`` on every cell, ``waves[0]`` being the canary wave. Returns one result per cell,
    in rollout order. Never raises for a cell's failure: it is in the result."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    stop = (op == "up") if stop_on_failure is None else stop_on_failure
    results = {c: CellResult(c, w) for w, wave in enumerate(waves) for c in wave}
    total = len(results)
    lock = threading.Lock()
    done = [0]
    if install_plugins:
        report("installing plugins (once, before the workers start)")
        try:
            source.install_plugins()
        except Exception as exc:
            raise RuntimeError(f"installing the provider plugins failed ({_error_text(exc)}); if they are "
                               "installed already, run again with --no-plugin-install") from exc

    def run_cell(cell: str) -> None:
        r = results[cell]
        started = time.monotonic()
        label = "canary" if r.wave == 0 else f"wave {r.wave}"
        report(f"{cell} ({label}): {op} started")
        log = source.log_path(cell, op)
        sink = open(log, "a") if log is not None else None  # noqa: SIM115 - closed below
        try:
            for attempt in range(1, retries + 2):
                r.attempts = attempt
                try:
                    stack = source.open(cell)
                    kwargs: dict[str, Any] = {}
                    if sink is not None:
                        kwargs["on_output"] = _writer(sink)
                    result = stack.up(**kwargs) if op == "up" else stack.preview(**kwargs)
                    r.status, r.changes = "succeeded", _changes(op, result)
                    break
                except Exception as exc:  # noqa: BLE001 - a cell's failure is reported, not raised
                    if _is_conflict(exc) and attempt <= retries:
                        delay = backoff * 2 ** (attempt - 1)
                        report(f"{cell}: another update holds the stack's lock (concurrent update); "
                               f"retry {attempt}/{retries} in {delay:.0f}s")
                        sleep(delay)
                        continue
                    r.status = "failed"
                    r.error = _error_text(exc)
                    if _is_conflict(exc):
                        r.error = f"concurrent update: the stack stayed locked after {attempt} attempts ({r.error})"
                    break
        finally:
            if sink is not None:
                sink.close()
        r.seconds = time.monotonic() - started
        with lock:
            done[0] += 1
            n = done[0]
        changes = ", ".join(f"{k} {v}" for k, v in sorted(r.changes.items())) or "no changes"
        detail = changes if r.status == "succeeded" else r.error
        report(f"[{n}/{total}] {cell}: {r.status} in {r.seconds:.1f}s ({detail})"
               + (f" - log: {log}" if log is not None and r.status == "failed" else ""))

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="tenancy-fleet") as pool:
        for w, wave in enumerate(waves):
            list(pool.map(run_cell, wave))
            failed = [c for c in wave if results[c].status == "failed"]
            if failed and (w == 0 or stop):
                rest = [c for later in waves[w + 1:] for c in later]
                if rest:
                    why = "the canary" if w == 0 else f"wave {w}"
                    report(f"{why} failed ({', '.join(failed)}): not starting {', '.join(rest)}")
                break
    return [results[c] for wave in waves for c in wave]


def summary_table(op: Operation, results: Sequence[CellResult]) -> str:
    rows = [("cell", "wave", "result", "attempts", "seconds", "changes / error")]
    for r in results:
        changes = ", ".join(f"{k} {v}" for k, v in sorted(r.changes.items())) or "-"
        rows.append((r.cell, "canary" if r.wave == 0 else str(r.wave), r.status, str(r.attempts),
                     f"{r.seconds:.1f}", changes if r.status == "succeeded" else (r.error or "-")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(v.ljust(widths[i]) for i, v in enumerate(row[:-1])) + "  " + row[-1] for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 15)
    return f"fleet {op}:\n" + "\n".join(lines)


def exit_message(op: Operation, results: Sequence[CellResult]) -> str | None:
    """``None`` when every cell succeeded, else the line naming the failed and skipped cells."""
    failed = [r.cell for r in results if r.status == "failed"]
    skipped = [r.cell for r in results if r.status == "skipped"]
    if not failed and not skipped:
        return None
    parts = []
    if failed:
        parts.append(f"failed: {', '.join(failed)}")
    if skipped:
        parts.append(f"not run: {', '.join(skipped)}")
    return f"fleet {op}: " + "; ".join(parts)


# --------------------------------------------------------------------------------------------
# The real thing: LocalWorkspace per cell


def required_plugins(packages: Sequence[str] = PROVIDER_PACKAGES) -> list[dict[str, Any]]:
    """The resource plugins the installed provider SDKs need (from their ``pulumi-plugin.json``)."""
    out = []
    for pkg in packages:
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            continue
        meta = Path(next(iter(spec.submodule_search_locations))) / "pulumi-plugin.json"
        if meta.exists():
            doc = json.loads(meta.read_text())
            if doc.get("resource", True) and doc.get("name") and doc.get("version"):
                out.append({"name": doc["name"], "version": str(doc["version"]).lstrip("v"),
                            "server": doc.get("server")})
    return out


def cell_project_file(project_dir: Path, stacks_dir: Path, work_dir: Path) -> dict[str, Any]:
    """The project file of one cell's work directory: the project's own ``Pulumi.yaml`` with
    ``main``, ``runtime.options.virtualenv`` and ``stackConfigDir`` made relative to the work
    directory (so they point back at the project and at the stacks directory)."""
    project_dir, stacks_dir, work_dir = (Path(p).resolve() for p in (project_dir, stacks_dir, work_dir))
    source = next((project_dir / n for n in ("Pulumi.yaml", "Pulumi.yml") if (project_dir / n).exists()), None)
    if source is None:
        raise FileNotFoundError(f"no Pulumi.yaml in {project_dir}; pass --project with the project's directory")
    doc = yaml.safe_load(source.read_text()) or {}

    def rel(p: Path) -> str:
        return os.path.relpath(p, work_dir)

    doc["main"] = rel(project_dir / str(doc.get("main") or "."))
    runtime = doc.get("runtime")
    if isinstance(runtime, Mapping) and isinstance(runtime.get("options"), Mapping):
        options = dict(runtime["options"])
        if isinstance(options.get("virtualenv"), str) and not os.path.isabs(options["virtualenv"]):
            options["virtualenv"] = rel(project_dir / options["virtualenv"])
        doc["runtime"] = {**runtime, "options": options}
    doc["stackConfigDir"] = rel(stacks_dir)
    return doc


class AutomationStacks:
    """One ``LocalWorkspace`` and work directory per cell (``WORK/<cell>/``)."""

    def __init__(self, project_dir: Path, stacks_dir: Path, work_root: Path, *,
                 pulumi_root: Path | None = None, env: Mapping[str, str] | None = None,
                 plugins: Sequence[Mapping[str, Any]] | None = None, pulumi_home: Path | None = None):
        from pulumi import automation as auto

        self.auto = auto
        self.project_dir, self.stacks_dir, self.work_root = Path(project_dir), Path(stacks_dir), Path(work_root)
        self.env = dict(env or {})
        self.plugins = list(required_plugins() if plugins is None else plugins)
        self.pulumi_home = str(pulumi_home) if pulumi_home else None
        try:
            self.command = auto.PulumiCommand(root=str(pulumi_root) if pulumi_root else None)
        except FileNotFoundError:
            where = f"{pulumi_root}/bin/pulumi" if pulumi_root else "`pulumi` on PATH"
            raise RuntimeError(f"the Pulumi CLI was not found ({where}): install it "
                               "(https://www.pulumi.com/docs/install/) or pass --pulumi-root DIR with DIR/bin/pulumi"
                               ) from None
        self._prepared: set[str] = set()
        self._lock = threading.Lock()

    def work_dir(self, cell: str) -> Path:
        wd = self.work_root / cell
        with self._lock:
            if cell not in self._prepared:
                wd.mkdir(parents=True, exist_ok=True)
                doc = cell_project_file(self.project_dir, self.stacks_dir, wd)
                (wd / "Pulumi.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
                self._prepared.add(cell)
        return wd

    def log_path(self, cell: str, op: Operation) -> Path:
        return self.work_dir(cell) / f"{op}.log"

    def _workspace_options(self, wd: Path) -> Any:
        return self.auto.LocalWorkspaceOptions(work_dir=str(wd), env_vars=self.env, pulumi_home=self.pulumi_home,
                                               pulumi_command=self.command)

    def install_plugins(self) -> None:
        if not self.plugins:
            return
        wd = self.work_root / "_plugins"
        wd.mkdir(parents=True, exist_ok=True)
        ws = self.auto.LocalWorkspace(work_dir=str(wd), env_vars=self.env, pulumi_home=self.pulumi_home,
                                      pulumi_command=self.command)
        for p in self.plugins:
            if p.get("server"):
                ws.install_plugin_from_server(p["name"], p["version"], p["server"])
            else:
                ws.install_plugin(p["name"], p["version"])
        # Installed once: the workers must not download (and race on) plugins.
        self.env.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")

    def open(self, cell: str) -> Any:
        wd = self.work_dir(cell)
        return self.auto.create_or_select_stack(cell, work_dir=str(wd), opts=self._workspace_options(wd))
