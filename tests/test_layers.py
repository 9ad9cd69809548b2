"""The package's shape: the pipeline's stages import only the stages before them (import-linter's
layers contract in pyproject.toml, run here), the public API is frozen, and the old module paths of
0.1 still import — with a warning, and never from inside the package or its tests."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import tenancy
from tenancy import _moved

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(cwd)})


def test_the_layers_contract_holds() -> None:
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_negative_control_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The same contract on a copy of the package where the spec imports the CLI."""
    shutil.copytree(ROOT / "tenancy", tmp_path / "tenancy", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    naming = tmp_path / "tenancy" / "spec" / "naming.py"
    naming.write_text(naming.read_text() + "\nfrom tenancy.cli.common import EXIT_OK  # noqa: E402\n")
    proc = _lint_imports(tmp_path)
    assert proc.returncode != 0
    assert "tenancy.spec is not allowed to import tenancy.cli" in proc.stdout, proc.stdout


PUBLIC_API = [
    "AddressPlan", "Cluster", "ClusterArgs", "ClusterIdentity", "DataBucket", "Network", "PlacementPolicy",
    "PlacementPolicyArgs", "Platform", "PlatformRef", "PlatformSpec", "PoolNetwork", "PoolNetworkArgs",
    "PoolNodeGroup", "PoolNodeGroupArgs", "Problem", "ServiceExposurePolicy", "ServiceExposurePolicyArgs",
    "SpecError", "TeamTenant", "TeamTenantArgs", "Tenant", "TenantAccess", "TenantAccessArgs", "TenantArgs",
    "TenantBundle", "TenantBundleArgs", "TenantIdentity", "TenantIdentityArgs", "TenantNetwork", "TenantNetworkArgs",
    "TenantNodeGroup", "TenantNodeGroupArgs", "TenantPeering", "TenantSpec", "TierPriorityClasses",
    "TierPriorityClassesArgs", "__version__", "load_platform",
]


def test_the_public_api_is_frozen() -> None:
    """Every name `import tenancy` offers; adding one is a decision (update this list and the
    CHANGELOG), removing one needs a deprecation first."""
    assert sorted(tenancy.__all__) == sorted(PUBLIC_API)
    for name in PUBLIC_API:
        assert getattr(tenancy, name) is not None, name
    with pytest.raises(AttributeError):
        tenancy.NotAName  # noqa: B018


def test_the_spec_imports_no_pulumi() -> None:
    """`import tenancy` and the spec stay light: the components load on first use."""
    code = ("import sys, tenancy, tenancy.spec, tenancy.plan.validate; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'pulumi_eks')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_old_module_paths_still_import_with_a_warning(old: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.modules.pop(old, None)
        module = importlib.import_module(old)
    assert module is importlib.import_module(_moved.MOVED[old])
    assert any(issubclass(w.category, DeprecationWarning) and _moved.MOVED[old] in str(w.message) for w in caught)


def test_nothing_in_the_repository_uses_an_old_path() -> None:
    """The aliases are for users' code only."""
    old_paths = set(_moved.MOVED) | {"tenancy.spec.load_platform"}
    offenders = []
    for folder in ("tenancy", "tests", "stacks", "examples", "benchmarks", "tools", "policy-pack"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names: list[str] = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n in old_paths]
    assert offenders == []
