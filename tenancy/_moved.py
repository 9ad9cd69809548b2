"""Old module paths (before 0.2's package layout) kept importable for one minor version.

``import tenancy.network`` still works and gives :mod:`tenancy.components.network` itself, with a
``DeprecationWarning`` naming the new path; these aliases go in 0.3. Nothing inside the package
uses them (tests/test_layers.py checks that).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

MOVED = {
    "tenancy.access": "tenancy.components.access",
    "tenancy.bundle": "tenancy.components.bundle",
    "tenancy.cluster": "tenancy.components.cluster",
    "tenancy.identity": "tenancy.components.identity",
    "tenancy.invokes": "tenancy.components.invokes",
    "tenancy.network": "tenancy.components.network",
    "tenancy.platform": "tenancy.components.platform",
    "tenancy.platform_policies": "tenancy.components.platform_policies",
    "tenancy.storage": "tenancy.components.storage",
    "tenancy.team": "tenancy.components.team",
    "tenancy.tenant": "tenancy.components.tenant",
    "tenancy.tiers": "tenancy.components.tiers",
    "tenancy.facts": "tenancy.review.facts",
    "tenancy.reachability": "tenancy.review.reachability",
    "tenancy.operability": "tenancy.review.operability",
    "tenancy.operability_cluster": "tenancy.review.operability_cluster",
    "tenancy.operability_pools": "tenancy.review.operability_pools",
    "tenancy.check": "tenancy.review.check",
    "tenancy.diff": "tenancy.review.diff",
    "tenancy.policy_pack": "tenancy.review.policy_pack",
    "tenancy.addressing": "tenancy.spec.addressing",
    "tenancy.naming": "tenancy.spec.naming",
    "tenancy.lifecycle": "tenancy.spec.lifecycle",
    "tenancy.stackfile": "tenancy.spec.stackfile",
    "tenancy.reference": "tenancy.spec.reference",
    "tenancy.fleet.quotas": "tenancy.plan.capacity",
    "tenancy.fleet.cli": "tenancy.cli.fleet",
    "tenancy.render.replacements": "tenancy.plan.replacements",
    "tenancy.verify.command": "tenancy.cli.verify",
}
"""Old module path -> where it lives now."""


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there (the old path goes in 0.3)",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """The module is the new one, already executed."""


def install() -> None:
    if not any(isinstance(f, _Aliases) for f in sys.meta_path):
        sys.meta_path.insert(0, _Aliases())
