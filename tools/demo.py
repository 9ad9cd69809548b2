"""`make demo`: the platform's in-cluster layer on a local control plane, verified, in one command.

    python tools/demo.py [--stack dev] [--keep] [--workdir DIR]

1. finds (or builds) ``make testenv``'s binaries (``bash testenv/build.sh``: last line is their folder);
2. starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 (testenv/controlplane.py,
   the live tests' control plane: RBAC, Pod Security, ValidatingAdmissionPolicy on);
3. renders the stack (``tenancy render --stack dev``) and server-side applies its manifests/
   (CRDs first, then the platform objects, the Namespaces, each tenant's objects), then waits until the
   API server enforces the placement policy in every tenant namespace;
4. runs ``tenancy verify --skip-aws`` against it and prints the report;
5. shows two walls: a pod that does not pin itself to its tenant's nodes refused by the placement
   policy, and a tenant editor refused writing a NetworkPolicy (dry-run requests, nothing stored);
6. prints what to try next, and stops every server by PID (also on Ctrl-C) unless ``--keep``.

Why server-side apply of the render rather than ``pulumi up`` with a local backend: the objects are the
same (``tenancy render`` writes what the Pulumi program creates), it takes seconds instead of minutes
(no engine, no provider plugin start, no state), and needs only the three Kubernetes binaries.

Exit code: 0 when verify passed and both walls held; 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tenancy.plan import admission as placement  # noqa: E402
from tenancy.plan import kubernetes as plan  # noqa: E402
from tenancy.spec import naming  # noqa: E402
from tenancy.spec.wire import TENANT_LABEL  # noqa: E402
from testenv.controlplane import ApiError, ControlPlane, Kube, install_crds, wait_for  # noqa: E402

KUBE_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
CRDS = ROOT / "tests" / "fixtures" / "crds"
"""The vendored CustomResourceDefinition the render uses (the VPC resource controller's
SecurityGroupPolicy; each file names its source). Read as data, the same files tests/live installs."""
ENFORCE_TIMEOUT = 90.0
MANAGER = "tenancy-demo"


def say(text: str = "") -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"\n==> {text}")


def find_binaries() -> Path:
    """``TENANCY_TESTENV_BIN`` if set, else ``bash testenv/build.sh``: finds the cached binaries, or
    builds them (Go, ~45-60 min cold)."""
    if os.environ.get("TENANCY_TESTENV_BIN"):
        folder = Path(os.environ["TENANCY_TESTENV_BIN"])
        missing = [b for b in KUBE_BINARIES if not os.access(folder / b, os.X_OK)]
        if missing:
            raise SystemExit(f"{', '.join(missing)} missing in TENANCY_TESTENV_BIN={folder}")
        return folder
    found = subprocess.run(["bash", str(ROOT / "testenv" / "build.sh"), "--find"], capture_output=True, text=True)
    if found.returncode != 0:
        say("The control plane's binaries are not built yet: running `make testenv` (needs Go >= 1.26; a cold "
            "build takes 45-60 minutes on 2 cores, cached afterwards) ...")
        found = subprocess.run(["bash", str(ROOT / "testenv" / "build.sh")], stdout=subprocess.PIPE, text=True)
        if found.returncode != 0:
            raise SystemExit("`make testenv` failed: see its output above")
    folder = Path(found.stdout.strip().splitlines()[-1])
    missing = [b for b in KUBE_BINARIES if not os.access(folder / b, os.X_OK)]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing in {folder}: run `make testenv`")
    return folder


def tenancy_cmd() -> list[str]:
    return [sys.executable, "-m", "tenancy.cli"]


def run(cmd: list[str], shown: str) -> subprocess.CompletedProcess[str]:
    say(f"$ {shown}")
    return subprocess.run(cmd, text=True, capture_output=True, cwd=ROOT)


def load_render(render: Path) -> list[dict[str, Any]]:
    """The render's manifests/ in apply order: platform objects, every Namespace (an edge's policy
    lives in the peer's namespace), then each tenant's other objects in the file's order."""
    files = sorted((render / "manifests").glob("*.yaml"), key=lambda p: (p.stem != "platform", p.stem))
    objs = [(p.stem == "platform", o) for p in files for o in yaml.safe_load_all(p.read_text()) if o]
    return [o for _, o in sorted(objs, key=lambda po: 0 if po[0] else 1 if po[1]["kind"] == "Namespace" else 2)]


def unpinned_pod(tenant: str) -> dict[str, Any]:
    """A pod that Pod Security ``restricted`` admits but that does not select or tolerate its
    tenant's nodes: only the placement policy refuses it."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unpinned", "namespace": naming.namespace(tenant)},
            "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{"name": "app", "image": "registry.example/app:1", "securityContext": {
                         "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}


def dry_run(kube: Kube, obj: Mapping[str, Any]) -> tuple[bool, str]:
    """Create ``obj`` with ``dryRun=All`` (authorization and every admission plugin, nothing stored)."""
    try:
        kube.post(kube.path_of(obj, named=False), dict(obj), dry_run=True)
        return True, "admitted"
    except ApiError as exc:
        return False, f"HTTP {exc.status}: {exc.message}"


def refused_by_placement(kube: Kube, tenant: str) -> bool:
    admitted, message = dry_run(kube, unpinned_pod(tenant))
    return not admitted and placement.POLICY_NAME in message


def tenant_names(objs: list[dict[str, Any]]) -> list[str]:
    return sorted(o["metadata"]["labels"][TENANT_LABEL] for o in objs if o["kind"] == "Namespace"
                  and TENANT_LABEL in (o["metadata"].get("labels") or {}))


def walls(kube: Kube, workdir: Path, tenants: list[str]) -> bool:
    """Two requests a tenant must not get through, made as a tenant editor (impersonated)."""
    tenant = tenants[0]
    group = naming.tenant_group(tenant, plan.PERSONAS["edit"])
    editor = kube.as_user(f"demo-{tenant}-editor", group)
    kc = workdir / "kubeconfig"
    held = True

    step(f"A wall: {tenant}'s editor creates a pod that is not pinned to {tenant}'s nodes (server dry-run)")
    pod = unpinned_pod(tenant)
    (workdir / "unpinned-pod.yaml").write_text(yaml.safe_dump(pod, sort_keys=False))
    say(f"$ kubectl --kubeconfig {kc} --as demo-{tenant}-editor --as-group {group} "
        f"create --dry-run=server -f {workdir / 'unpinned-pod.yaml'}")
    admitted, message = dry_run(editor, pod)
    say(f"  {message}")
    ok = not admitted and placement.POLICY_NAME in message
    say(f"  -> {'refused by the ValidatingAdmissionPolicy ' + placement.POLICY_NAME if ok else 'NOT REFUSED'}")
    held &= ok

    step(f"A wall: {tenant}'s editor writes a NetworkPolicy opening its namespace (server dry-run)")
    netpol = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "allow-everything", "namespace": naming.namespace(tenant)},
              "spec": {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]}}
    (workdir / "open-netpol.yaml").write_text(yaml.safe_dump(netpol, sort_keys=False))
    say(f"$ kubectl --kubeconfig {kc} --as demo-{tenant}-editor --as-group {group} "
        f"create --dry-run=server -f {workdir / 'open-netpol.yaml'}")
    admitted, message = dry_run(editor, netpol)
    say(f"  {message}")
    ok = not admitted and message.startswith("HTTP 403")
    say(f"  -> {'refused by RBAC: the network fences belong to the platform' if ok else 'NOT REFUSED'}")
    return held and ok


def tamper(kube: Kube, kc: Path, objs: list[dict[str, Any]], tenant: str, verify_cmd: list[str], shown: str) -> bool:
    """One tampering a platform must notice: the tenant's default-deny NetworkPolicy deleted (as an
    administrator would by mistake). Verify must exit 3 naming the tenant and the object; the policy
    is put back afterwards (and verify passes again). True when verify noticed."""
    [policy] = [o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == plan.NP_DEFAULT_DENY
                and o["metadata"].get("namespace") == naming.namespace(tenant)]
    step(f"A tampering: {tenant}'s {plan.NP_DEFAULT_DENY} NetworkPolicy deleted, then verify again")
    say(f"$ kubectl --kubeconfig {kc} -n {naming.namespace(tenant)} delete networkpolicy "
        f"{plan.NP_DEFAULT_DENY}")
    kube.delete_obj(policy)
    again = run(verify_cmd, shown)
    failures = [line.strip() for line in (again.stdout + again.stderr).splitlines()
                if line.strip().startswith("FAIL [")]  # verify's stderr: one line per failure
    for line in failures[:6]:
        say(f"  {line}")
    noticed = again.returncode == 3 and any(tenant in line and plan.NP_DEFAULT_DENY in line for line in failures)
    say(f"  verify exit code {again.returncode} -> "
        f"{'the tampering is caught, naming ' + tenant if noticed else 'NOT NOTICED'}")
    kube.apply(policy, manager=MANAGER)
    say(f"  ({plan.NP_DEFAULT_DENY} put back)")
    return noticed


def demo(stack: str, workdir: Path, keep: bool) -> int:
    step("Finding the control plane's binaries (`make testenv`)")
    bin_dir = find_binaries()
    say(f"  {bin_dir}")

    step("Starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1")
    cp = ControlPlane(bin_dir, workdir)
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            cp.stop()

    def on_signal(signum: int, _frame: Any) -> None:
        stop()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    passed = False
    try:
        cp.start()
        say(f"  API server {cp.server}; kubeconfig {cp.kubeconfig_path}")
        say("  PIDs: " + ", ".join(f"{n} {p.pid}" for n, p in cp.procs.items()))
        kube = cp.client()

        step(f"Rendering stacks/Pulumi.{stack}.yaml offline")
        render = workdir / "render"
        out = run([*tenancy_cmd(), "render", "--stack", stack, "--out", str(render)],
                  f"tenancy render --stack {stack} --out {render}")
        if out.returncode != 0:
            say(out.stdout + out.stderr)
            return 1
        objs = load_render(render)
        tenants = tenant_names(objs)

        step(f"Applying its in-cluster layer ({len(objs)} objects from {render / 'manifests'}, server-side apply, "
             "CRDs first)")
        install_crds(kube, CRDS, manager=MANAGER, timeout=ENFORCE_TIMEOUT)
        for obj in objs:
            kube.apply(obj, manager=MANAGER)
        for t in tenants:  # the API server loads admission policies asynchronously
            wait_for(f"{placement.POLICY_NAME} enforced in {t}", lambda t=t: refused_by_placement(kube, t),
                     ENFORCE_TIMEOUT, interval=0.5)
        say(f"  tenants: {', '.join(tenants)}")

        step("Verifying the cluster against the render (no AWS account: --skip-aws)")
        shown = f"tenancy verify --render {render} --kubeconfig {cp.kubeconfig_path} --skip-aws"
        verify = run([*tenancy_cmd(), "verify", "--render", str(render), "--kubeconfig", str(cp.kubeconfig_path),
                      "--skip-aws"], shown)
        say(verify.stdout.rstrip())
        if verify.stderr.strip():
            say(verify.stderr.rstrip())
        say(f"  verify exit code {verify.returncode} (0: every check passed; 3: a check failed)")

        held = walls(kube, workdir, tenants)
        verify_cmd = [*tenancy_cmd(), "verify", "--render", str(render), "--kubeconfig", str(cp.kubeconfig_path),
                      "--skip-aws"]
        caught = tamper(kube, cp.kubeconfig_path, objs, tenants[0], verify_cmd, shown)
        passed = verify.returncode == 0 and held and caught

        step("What to try next")
        kc = cp.kubeconfig_path
        say(f"  - `make demo KEEP=1`, change a quota or a RoleBinding of {tenants[0]} and run `{shown}` again: "
            "exit 3, naming the tenant and the object")
        say("  - edit stacks/Pulumi.dev.yaml (add a tenant, an allowFrom edge) and `make demo` again")
        say("  - explore the kept control plane: "
            f"`kubectl --kubeconfig {kc} get validatingadmissionpolicies,namespaces,networkpolicies -A`")
        say("  - read docs/verify.md (what each check proves), docs/testing.md (the live tests), README.md (AWS)")
        say(f"\nDEMO {'PASSED' if passed else 'FAILED'}: verify exit {verify.returncode}, walls "
            f"{'held' if held else 'BROKEN'}, tampering {'caught' if caught else 'NOT CAUGHT'}")
        if keep:
            pids = " ".join(str(p.pid) for p in reversed(list(cp.procs.values())))
            say("\nThe control plane keeps running (KEEP=1):")
            say(f"  export KUBECONFIG={kc}")
            # as ControlPlane.stop: SIGTERM, then SIGKILL what still runs after 15 s (kube-apiserver can
            # linger in its graceful shutdown once etcd is gone)
            say(f"  stop it with: kill {pids}; sleep 15; kill -9 {pids} 2>/dev/null; rm -rf {workdir}")
            stopped = True
        return 0 if passed else 1
    except Exception as exc:  # noqa: BLE001 - reported with the servers' logs
        say(f"\nDEMO FAILED: {exc}{cp.logs() if cp.procs else ''}")
        return 1
    finally:
        stop()
        if not keep:
            shutil.rmtree(workdir / "etcd", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", default="dev", help="stacks/Pulumi.<stack>.yaml (default: dev)")
    p.add_argument("--keep", action="store_true", help="leave the control plane running; print how to stop it")
    p.add_argument("--workdir", type=Path, help="work folder (default: a new temporary folder)")
    args = p.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tenancy-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    code = demo(args.stack, workdir.resolve(), args.keep)
    say(f"(work folder: {workdir}; " + ("servers still running)" if args.keep else "every server stopped)"))
    return code


if __name__ == "__main__":
    sys.exit(main())
