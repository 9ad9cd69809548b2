"""Block storage (D12) and the Pod Identity agent (D3): the add-ons and identities options need,
on the render — each with a negative control (the option off, or the piece removed)."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review import operability
from tests.fixtures.specs import spec_with
from tests.helpers import iam_checks

ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"
QUOTA = "kubernetes:core/v1:ResourceQuota"


def _addon(render: RenderResult, name: str) -> dict[str, Any] | None:
    return next((a for a in render.of_type(ADDON) if a["inputs"]["addonName"] == name), None)


def _finding(render: RenderResult, start: str, resources: list[dict[str, Any]] | None = None) -> operability.Finding:
    [f] = [f for f in operability.evaluate(render.spec, resources or render.resources) if f.name.startswith(start)]
    return f


@pytest.fixture(scope="module")
def irsa() -> RenderResult:
    return render_spec(spec_with())


@pytest.fixture(scope="module")
def pod_identity() -> RenderResult:
    return render_spec(spec_with(identity={"mode": "podIdentity"}))


@pytest.fixture(scope="module")
def no_storage() -> RenderResult:
    return render_spec(spec_with(workloads={"storage": "none"}))


def test_pod_identity_installs_the_agent_before_tenant_nodes(pod_identity, irsa) -> None:
    agent = _addon(pod_identity, "eks-pod-identity-agent")
    assert agent is not None
    by_urn = pod_identity.by_urn()

    def waits(r: dict[str, Any], target: str, seen: set[str] | None = None) -> bool:
        seen = seen if seen is not None else set()
        for u in r["dependencies"]:
            if u == target:
                return True
            if u not in seen and u in by_urn:  # reads (SecurityGroup.get) are not registrations
                seen.add(u)
                if waits(by_urn[u], target, seen):
                    return True
        return False

    tenant_groups = [n for n in pod_identity.of_type(NODE_GROUP) if n["tenant"]]
    assert tenant_groups and all(waits(n, agent["urn"]) for n in tenant_groups)
    assert _finding(pod_identity, "identity.mode podIdentity").status == "ok"
    # negative controls: IRSA installs no agent; a render without it is reported
    assert _addon(irsa, "eks-pod-identity-agent") is None
    res = [r for r in pod_identity.resources if r["urn"] != agent["urn"]]
    assert _finding(pod_identity, "identity.mode podIdentity", res).status == "missing"


@pytest.mark.parametrize("mode", ["irsa", "podIdentity"])
def test_ebs_csi_driver_has_its_own_least_privilege_identity(mode, irsa, pod_identity) -> None:
    render = irsa if mode == "irsa" else pod_identity
    addon = _addon(render, "aws-ebs-csi-driver")
    assert addon is not None
    roles = {r["outputs"]["arn"]: r for r in render.of_type("aws:iam/role:Role")}
    if mode == "irsa":
        role = roles[addon["inputs"]["serviceAccountRoleArn"]]
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        [sub] = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert sub == "system:serviceaccount:kube-system:ebs-csi-controller-sa"
        assert "podIdentityAssociations" not in addon["inputs"]
    else:
        [assoc] = addon["inputs"]["podIdentityAssociations"]
        assert assoc["serviceAccount"] == "ebs-csi-controller-sa"
        role = roles[assoc["roleArn"]]
        cond = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
        assert cond["aws:RequestTag/kubernetes-namespace"] == "kube-system"
        assert cond["aws:RequestTag/kubernetes-service-account"] == "ebs-csi-controller-sa"
        agent = _addon(render, "eks-pod-identity-agent")
        assert agent is not None and agent["urn"] in addon["dependencies"]
    # managed policy on this role only; no node role carries it
    attachments = [a for a in render.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a["inputs"]["policyArn"].endswith("/AmazonEBSCSIDriverPolicy")]
    assert [a["inputs"]["role"] for a in attachments] == [role["inputs"]["name"]]
    # the managed policy lives under service-role/ (the moto replay refuses any other ARN)
    assert attachments[0]["inputs"]["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    # KMS: the volume key only, grants only for AWS resources (independent checker)
    [kms] = [p for p in render.of_type("aws:iam/rolePolicy:RolePolicy")
             if p["inputs"]["role"] == role["inputs"]["name"]]
    doc = json.loads(kms["inputs"]["policy"])
    [sc] = render.of_type(SC)
    key = sc["inputs"]["parameters"]["kmsKeyId"]
    assert all(s["Resource"] == [key] for s in doc["Statement"])
    grants = next(s for s in doc["Statement"] if "kms:CreateGrant" in s["Action"])
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    other = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000"
    assert iam_checks.allows(doc, "kms:GenerateDataKeyWithoutPlaintext", key)
    assert not iam_checks.allows(doc, "kms:Decrypt", other)
    assert not iam_checks.allows(doc, "kms:ScheduleKeyDeletion", key)


def test_ebs_csi_controller_runs_on_system_nodes_and_waits_for_them(irsa) -> None:
    addon = _addon(irsa, "aws-ebs-csi-driver")
    assert addon is not None
    config = json.loads(addon["inputs"]["configurationValues"])
    assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in config["controller"]["tolerations"]
    assert config["controller"]["nodeSelector"] == {"tenancy/pool": "system"}
    assert config["node"]["tolerateAllTaints"] is True  # the node plugin must run on tenant nodes
    assert config["defaultStorageClass"] == {"enabled": False}  # ours is the one default
    [system] = [n for n in irsa.of_type(NODE_GROUP) if not n["tenant"]]
    assert system["urn"] in addon["dependencies"]


def test_one_default_encrypted_gp3_storage_class(irsa) -> None:
    [sc] = irsa.of_type(SC)
    assert sc["tenant"] is None and sc["provider"]  # platform level, through the cluster's provider
    i = sc["inputs"]
    assert i["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert i["provisioner"] == "ebs.csi.aws.com"
    assert i["parameters"]["type"] == "gp3" and i["parameters"]["encrypted"] == "true"
    assert i["parameters"]["kmsKeyId"].startswith("arn:aws:kms:")
    assert i["volumeBindingMode"] == "WaitForFirstConsumer"
    obj = next(o for o in irsa.manifests["platform"] if o["kind"] == "StorageClass")
    kubernetes_validate.validate(obj, "1.33.0", strict=True)
    assert _finding(irsa, "PVC quota").status == "ok"


def test_storage_off_means_no_driver_and_zero_claim_quota(no_storage, irsa) -> None:
    assert _addon(no_storage, "aws-ebs-csi-driver") is None and not no_storage.of_type(SC)
    for q in no_storage.of_type(QUOTA):
        if q["inputs"]["metadata"]["name"] != "tenancy-quota":
            continue  # the tier quota (tenancy-tier) caps pods only
        hard = q["inputs"]["spec"]["hard"]
        assert hard["persistentvolumeclaims"] == "0" and hard["requests.storage"] == "0", q["tenant"]
    assert _finding(no_storage, "PVC quota").status == "n/a"
    # negative control: PVC quota with the driver removed is reported
    addon = _addon(irsa, "aws-ebs-csi-driver")
    assert addon is not None
    res = [r for r in irsa.resources if r["urn"] != addon["urn"]]
    assert _finding(irsa, "PVC quota", res).status == "missing"
    assert any(q["inputs"]["spec"]["hard"]["persistentvolumeclaims"] != "0" for q in irsa.of_type(QUOTA))
