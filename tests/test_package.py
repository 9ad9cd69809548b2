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
