"""The replacement table covers every type a full render produces, and names real inputs."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from tenancy.plan.replacements import AWS, rule_for
from tests.fixtures.specs import ALPHA, BETA, DELTA, GAMMA, spec_with, tenant
from tests.helpers import review

FULL = spec_with(
    [ALPHA, BETA, GAMMA, DELTA, tenant("bottle", 5, nodes={"capacityType": "SPOT"}, serviceAccounts=["x"])],
    identity={"mode": "podIdentity", "accessPoints": True, "accessLogging": True,
              "noncurrentVersionExpirationDays": 30},
    workloads={"mesh": "istio", "istio": {"preinstalled": True, "cni": True},
              "ingressControllerNamespace": "ingress"},
    network={"tenantNetworkAcls": True, "flowLogs": {"destination": "s3", "retentionDays": 30}},
    cluster={"endpointPublicAccessCidrs": ["203.0.113.0/24"], "clusterAdmins": ["arn:aws:iam::111122223333:role/a"]},
    observability={"metrics": {"enabled": True}, "backup": {"enabled": True}},
)


@pytest.mark.parametrize("spec", [review.base_spec(), FULL], ids=["base", "full"])
def test_every_rendered_type_is_in_the_table(spec: dict) -> None:
    types = {r["type"] for r in review.resources(spec)}
    missing = sorted(t for t in types if rule_for(t) is None)
    assert not missing, f"add these types to tenancy/plan/replacements.py (with their source): {missing}"


def test_unknown_types_are_not_guessed() -> None:
    assert rule_for("aws:foo/bar:Baz") is None
    assert rule_for("random:index/randomId:RandomId") is None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("token", sorted(AWS))
def test_aws_paths_are_inputs_of_the_pulumi_aws_resource(token: str) -> None:
    """Checked against the schema the SDK was generated from: every listed input exists."""
    module, cls = token.split(":")[1].split("/")[0], token.rsplit(":", 1)[1]
    klass = getattr(importlib.import_module(f"pulumi_aws.{module}"), cls)
    params = set(inspect.signature(klass._internal_init).parameters)
    for path in AWS[token].paths:
        assert _snake(path.split(".")[0]) in params, f"{token}: {path} is not an input of pulumi_aws {cls}"
