"""The public API: importable from the package root, components loaded lazily."""

import subprocess
import sys

import tenancy


def test_every_public_name_resolves() -> None:
    for name in tenancy.__all__:
        assert getattr(tenancy, name) is not None, name


def test_the_spec_imports_no_pulumi() -> None:
    code = "import sys, tenancy; from tenancy import load_platform; assert 'pulumi' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_wheel_ships_the_branch_eni_table(tmp_path) -> None:
    """The capacity preflight reads tenancy/data/branch_eni_limits.json at run time: a wheel
    without it would fail every spec with a node pool (pyproject package-data). Built from a clean
    copy of the sources: a checkout's stale egg-info would otherwise list the file anyway."""
    import shutil
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(root / name, src / name)
    shutil.copytree(root / "tenancy", src / "tenancy", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("tenancy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tenancy/data/branch_eni_limits.json" in names
    assert "tenancy/plan/pools.py" in names
