"""The cluster layer, judged on the render: what the components registered, with which inputs,
under which owner. (The CEL of the placement policy is evaluated in tests/plan/test_admission.py,
the AWS side replayed into moto in tests/components/test_cluster_replay.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenancy.plan import admission
from tenancy.plan.validate import load_platform
from tenancy.render.result import RenderResult
from tenancy.spec import SpecError
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.cluster_render import NetworkIds, render_cluster

ADMIN = "arn:aws:iam::111122223333:role/platform-admins"
A_ADMIN = "arn:aws:iam::111122223333:role/alpha-admins"
B_DEV = "arn:aws:iam::111122223333:role/beta-devs"
G_AUD = "arn:aws:iam::111122223333:role/gamma-auditors"


def _spec(**overrides: Any) -> dict[str, Any]:
    tenants = [
        tenant("alpha", 0, admins=[A_ADMIN], nodes={"diskSizeGib": 80, "minSize": 2, "desiredSize": 3, "maxSize": 5}),
        tenant("beta", 1, editors=[B_DEV], nodes={"amiType": "BOTTLEROCKET_x86_64", "instanceTypes": ["m6g.large"],
                                                  "capacityType": "SPOT"}),
        tenant("gamma", 2, viewers=[G_AUD]),
    ]
    cluster = {"clusterAdmins": [ADMIN], "logRetentionDays": 30, **overrides.pop("cluster", {})}
    return spec_with(tenants, cluster=cluster, **overrides)


@pytest.fixture(scope="module")
def rendered() -> tuple[RenderResult, NetworkIds]:
    return render_cluster(_spec())


@pytest.fixture(scope="module")
def variant() -> RenderResult:
    """The options that change the control plane: a public endpoint for given CIDRs, deletion protection."""
    return render_cluster(_spec(cluster={"endpointPublicAccessCidrs": ["203.0.113.0/24"],
                                         "deletionProtection": True}))[0]


@pytest.fixture(scope="module")
def result(rendered: tuple[RenderResult, NetworkIds]) -> RenderResult:
    return rendered[0]


def one(result: RenderResult, typ: str, **match: Any) -> dict[str, Any]:
    found = [r for r in result.of_type(typ) if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one {typ} {match}, found {[r['name'] for r in found]}"
    return found[0]


def tenant_of_type(result: RenderResult, typ: str, t: str | None) -> list[dict[str, Any]]:
    return [r for r in result.of_type(typ) if r["tenant"] == t]


def eks(result: RenderResult) -> dict[str, Any]:
    return one(result, "eks:index:Cluster")


def ancestors(result: RenderResult, r: dict[str, Any]) -> list[str]:
    by = result.by_urn()
    out, cur = [], r.get("parent")
    while cur in by:
        out.append(by[cur]["type"])
        cur = by[cur].get("parent")
    return out


# --------------------------------------------------------------------------------------------
# Control plane


def test_api_authentication_oidc_and_no_default_node_group(result: RenderResult) -> None:
    i = eks(result)["inputs"]
    assert i["authenticationMode"] == "API"  # access entries only, no aws-auth ConfigMap
    assert i["createOidcProvider"] is True
    assert i["skipDefaultNodeGroup"] is True
    assert i["createInstanceRole"] is False
    assert i["name"] == "acme" and i["version"] == "1.33"
    assert not i.get("roleMappings") and not i.get("userMappings")


def test_endpoint_is_private_unless_cidrs_are_given(result: RenderResult, variant: RenderResult) -> None:
    i = eks(result)["inputs"]
    assert i["endpointPrivateAccess"] is True
    assert i["endpointPublicAccess"] is False
    assert not i.get("publicAccessCidrs")
    j = eks(variant)["inputs"]
    assert j["endpointPrivateAccess"] is True and j["endpointPublicAccess"] is True
    assert j["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_open_endpoint_is_refused() -> None:
    with pytest.raises(SpecError, match="0.0.0.0/0"):
        load_platform(_spec(cluster={"endpointPublicAccessCidrs": ["0.0.0.0/0"]}))


def test_control_plane_logs_with_retention_into_an_encrypted_group(result: RenderResult) -> None:
    i = eks(result)["inputs"]
    assert {"api", "audit", "authenticator", "controllerManager", "scheduler"} == set(i["enabledClusterLogTypes"])
    group = one(result, "aws:cloudwatch/logGroup:LogGroup", name="acme_control-plane-logs")
    assert group["inputs"]["name"] == "/aws/eks/acme/cluster"  # where EKS writes
    assert group["inputs"]["retentionInDays"] == 30
    key = one(result, "aws:kms/key:Key", name="acme_cluster-key")
    assert group["inputs"]["kmsKeyId"] == key["outputs"]["arn"]
    # The group must exist before the cluster, or EKS creates its own without retention.
    assert group["urn"] in eks(result)["dependencies"]


def test_secrets_envelope_encryption_with_a_rotated_key_of_our_own(result: RenderResult) -> None:
    key = one(result, "aws:kms/key:Key", name="acme_cluster-key")
    assert key["inputs"]["enableKeyRotation"] is True
    assert eks(result)["inputs"]["encryptionConfigKeyArn"] == key["outputs"]["arn"]
    policy = json.loads(key["inputs"]["policy"])
    logs = [s for s in policy["Statement"] if s["Principal"].get("Service", "").startswith("logs.")]
    assert len(logs) == 1
    assert logs[0]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:/aws/eks/acme/cluster")


def test_control_plane_security_group_from_the_network_layer_and_none_created(
        rendered: tuple[RenderResult, NetworkIds]) -> None:
    result, net = rendered
    i = eks(result)["inputs"]
    assert i["skipDefaultSecurityGroups"] is True
    assert i["clusterSecurityGroup"] == net.control_plane_security_group_id


def test_vpc_cni_addon_enforces_network_policies_with_an_irsa_role(result: RenderResult) -> None:
    assert eks(result)["inputs"]["useDefaultVpcCni"] is True  # pulumi-eks' own add-on off: ours below
    cni = one(result, "aws:eks/addon:Addon", name="acme_vpc-cni")["inputs"]
    assert cni["addonName"] == "vpc-cni" and cni["clusterName"] == "acme"
    assert json.loads(cni["configurationValues"])["enableNetworkPolicy"] == "true"
    role = next(r for r in result.of_type("aws:iam/role:Role") if r["outputs"]["arn"] == cni["serviceAccountRoleArn"])
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    issuer = eks(result)["outputs"]["oidcIssuer"]
    assert trust[0]["Principal"]["Federated"] == eks(result)["outputs"]["oidcProviderArn"]
    assert trust[0]["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:kube-system:aws-node", f"{issuer}:aud": "sts.amazonaws.com"}
    attached = [a["inputs"]["policyArn"] for a in result.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a["inputs"]["role"] == role["outputs"]["name"]]
    assert attached == ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]


def test_deletion_protection_is_an_option(result: RenderResult, variant: RenderResult) -> None:
    off = eks(result)
    assert off["inputs"]["deletionProtection"] is False and off["protect"] is False
    on = eks(variant)
    assert on["inputs"]["deletionProtection"] is True and on["protect"] is True


def test_kubernetes_provider_from_the_kubeconfig(result: RenderResult) -> None:
    provider = one(result, "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == eks(result)["outputs"]["kubeconfigJson"]
    # The placement policy goes through it.
    for vap in result.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"):
        assert vap["provider"].startswith(provider["urn"])


# --------------------------------------------------------------------------------------------
# Node groups


def node_group(result: RenderResult, t: str) -> dict[str, Any]:
    [ng] = tenant_of_type(result, "aws:eks/nodeGroup:NodeGroup", t)
    return ng


def launch_template_of(result: RenderResult, ng: dict[str, Any]) -> dict[str, Any]:
    return one(result, "aws:ec2/launchTemplate:LaunchTemplate", id=ng["inputs"]["launchTemplate"]["id"])


def test_system_node_group_in_system_subnets_tainted_critical_addons_only(
        rendered: tuple[RenderResult, NetworkIds]) -> None:
    result, net = rendered
    ng = node_group(result, None)
    i = ng["inputs"]
    assert i["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert i["subnetIds"] == eks(result)["inputs"]["subnetIds"] == net.system_subnet_ids
    assert (i["scalingConfig"]["minSize"], i["scalingConfig"]["desiredSize"]) == (2, 2)
    lt = launch_template_of(result, ng)["inputs"]
    assert lt["vpcSecurityGroupIds"] == [net.system_security_group_id]
    assert lt["metadataOptions"]["httpTokens"] == "required"
    coredns = one(result, "aws:eks/addon:Addon", name="acme_coredns")
    assert ng["urn"] in coredns["dependencies"]


@pytest.mark.parametrize("t", ["alpha", "beta", "gamma"])
def test_tenant_node_group_labelled_tainted_and_only_in_its_subnets(
        rendered: tuple[RenderResult, NetworkIds], t: str) -> None:
    result, net = rendered
    ng = node_group(result, t)
    i = ng["inputs"]
    assert i["nodeGroupNamePrefix"] == f"acme-{t}-" and "nodeGroupName" not in i
    assert ng["outputs"]["nodeGroupName"].startswith(f"acme-{t}-")
    assert i["labels"] == {"tenancy/tenant": t}
    assert i["taints"] == [{"key": "tenancy/tenant", "value": t, "effect": "NO_SCHEDULE"}]  # AWS casing
    own = net.tenant_subnet_ids(t)
    assert sorted(i["subnetIds"]) == sorted(own) and own
    # the ids are those of the subnets the network layer made for this tenant
    assert sorted(own) == sorted(s["id"] for s in tenant_of_type(result, "aws:ec2/subnet:Subnet", t))
    assert "tenancy:cluster:TenantNodeGroup" in ancestors(result, ng)
    assert i["clusterName"] == "acme"
    assert "diskSize" not in i  # with a launch template the disk is set there
    cni = one(result, "aws:eks/addon:Addon", name="acme_vpc-cni")
    assert cni["urn"] in ng["dependencies"]  # nodes need the CNI to become Ready


def test_scaling_instance_types_capacity_and_ami_from_nodes(result: RenderResult) -> None:
    a = node_group(result, "alpha")["inputs"]
    assert a["scalingConfig"] == {"minSize": 2, "desiredSize": 3, "maxSize": 5}
    assert a["instanceTypes"] == ["m6i.large"] and a["capacityType"] == "ON_DEMAND"
    b = node_group(result, "beta")["inputs"]
    assert b["amiType"] == "BOTTLEROCKET_x86_64" and b["capacityType"] == "SPOT"
    assert b["instanceTypes"] == ["m6g.large"]


@pytest.mark.parametrize("t", ["alpha", "beta", "gamma"])
def test_launch_template_imdsv2_hop_limit_one_encrypted_disk_own_security_groups(
        rendered: tuple[RenderResult, NetworkIds], t: str) -> None:
    result, net = rendered
    ng = node_group(result, t)
    lt = launch_template_of(result, ng)
    assert lt["tenant"] == t
    assert ng["inputs"]["launchTemplate"]["version"] == str(lt["outputs"]["latestVersion"])
    i = lt["inputs"]
    assert i["metadataOptions"]["httpTokens"] == "required"
    assert i["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert i["metadataOptions"]["httpEndpoint"] == "enabled"
    disk = {"alpha": 80, "beta": 50, "gamma": 50}[t]
    volumes = i["blockDeviceMappings"]
    assert all(v["ebs"]["encrypted"] == "true" and v["ebs"]["volumeType"] == "gp3" for v in volumes)
    data_device = "/dev/xvdb" if t == "beta" else "/dev/xvda"  # Bottlerocket keeps data on xvdb
    assert [v["ebs"].get("volumeSize") for v in volumes if v["deviceName"] == data_device] == [disk]
    assert i["vpcSecurityGroupIds"] == [net.tenant_security_group_id(t), net.tenant_nodes_security_group_id]
    assert eks(result)["outputs"]["clusterSecurityGroupId"] not in i["vpcSecurityGroupIds"]
    specs = {s["resourceType"]: s["tags"] for s in i["tagSpecifications"]}
    assert set(specs) == {"instance", "volume", "network-interface"}
    assert all(tags["tenancy/tenant"] == t for tags in specs.values())


def test_node_roles_hold_only_the_node_policies(result: RenderResult) -> None:
    attachments = result.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    node_roles = [r for r in result.of_type("aws:iam/role:Role")
                  if json.loads(r["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {
                      "Service": "ec2.amazonaws.com"}]
    assert {r["tenant"] for r in node_roles} == {None, "alpha", "beta", "gamma"}
    for role in node_roles:
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert [s["Action"] for s in trust] == ["sts:AssumeRole"]
        policies = sorted(a["inputs"]["policyArn"] for a in attachments
                          if a["inputs"]["role"] == role["outputs"]["name"])
        assert policies == ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
                            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"], role["name"]
        assert not [p for p in result.of_type("aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"] == role["id"]]
    tenant_role = next(r for r in node_roles if r["tenant"] == "alpha")
    assert tenant_role["inputs"]["name"] == "acme-alpha-node"
    assert node_group(result, "alpha")["inputs"]["nodeRoleArn"] == tenant_role["outputs"]["arn"]


def test_each_node_role_has_its_ec2_linux_access_entry(result: RenderResult) -> None:
    for t in ("alpha", "beta", "gamma", None):
        ng = node_group(result, t)
        entries = [e for e in result.of_type("aws:eks/accessEntry:AccessEntry")
                   if e["inputs"]["principalArn"] == ng["inputs"]["nodeRoleArn"]]
        assert len(entries) == 1
        e = entries[0]
        assert e["inputs"]["type"] == "EC2_LINUX" and not e["inputs"].get("kubernetesGroups")
        assert e["tenant"] == t
        assert e["urn"] in ng["dependencies"]


# --------------------------------------------------------------------------------------------
# Human access


def test_tenant_personas_map_to_groups_without_access_policies(result: RenderResult) -> None:
    entries = {e["inputs"]["principalArn"]: e for e in result.of_type("aws:eks/accessEntry:AccessEntry")}
    for arn, t, persona in ((A_ADMIN, "alpha", "admins"), (B_DEV, "beta", "editors"), (G_AUD, "gamma", "viewers")):
        e = entries[arn]
        assert e["tenant"] == t
        assert e["inputs"]["type"] == "STANDARD"
        assert e["inputs"]["kubernetesGroups"] == [f"tenancy:{t}:{persona}"]
        assert e["inputs"]["tags"]["tenancy/tenant"] == t
    associations = result.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    associated = {a["inputs"]["principalArn"] for a in associations}
    assert associated == {ADMIN}  # no EKS access policy for any tenant principal


def test_cluster_admins_get_cluster_scoped_admin_policy(result: RenderResult) -> None:
    entry = next(e for e in result.of_type("aws:eks/accessEntry:AccessEntry") if e["inputs"]["principalArn"] == ADMIN)
    assert entry["tenant"] is None and not entry["inputs"].get("kubernetesGroups")
    [assoc] = result.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert assoc["inputs"]["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert assoc["inputs"]["accessScope"] == {"type": "cluster"}
    assert assoc["inputs"]["clusterName"] == "acme"


def test_a_principal_is_not_both_cluster_admin_and_tenant_persona_nor_twice_in_one_tenant() -> None:
    load_platform(spec_with([tenant("a", 0, admins=[A_ADMIN]), tenant("b", 1, viewers=[A_ADMIN])]))  # allowed
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant("a", 0, admins=[A_ADMIN], viewers=[A_ADMIN])]))
    [p] = [p for p in err.value.problems if p.path == "tenants[0].viewers[0]"]
    assert "tenants[0].admins[0]" in p.message and "one persona per tenant" in p.message
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant("a", 0, editors=[ADMIN])], cluster={"clusterAdmins": [ADMIN]}))
    [p] = err.value.problems
    assert p.path == "tenants[0].editors[0]" and "cluster.clusterAdmins[0]" in p.message and "both" in p.message


def test_sts_sessions_are_refused_with_the_role_arn_to_use() -> None:
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant("a", 0, admins=["arn:aws:sts::111122223333:assumed-role/ops/alice"])]))
    assert "arn:aws:iam::111122223333:role/ops" in str(err.value)


# --------------------------------------------------------------------------------------------
# Placement enforcement, ownership, stability, preflight


def test_placement_policy_and_binding_are_rendered_for_the_platform(result: RenderResult) -> None:
    objs = [o for o in result.manifests["platform"] if o["metadata"]["name"] == admission.POLICY_NAME]
    kinds = [o["kind"] for o in objs]
    assert kinds.count("ValidatingAdmissionPolicy") == 1 and kinds.count("ValidatingAdmissionPolicyBinding") == 1
    policy = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicy")
    binding = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding")
    assert policy == admission.placement_policy()
    assert binding == admission.placement_binding()
    assert binding["spec"]["validationActions"] == ["Deny"] and policy["spec"]["failurePolicy"] == "Fail"
    for name in (admission.POLICY_NAME, admission.SERVICE_POLICY_NAME):
        [vap_binding] = [r for r in result.of_type(
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding")
            if r["inputs"]["metadata"]["name"] == name]
        [vap] = [r for r in result.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy")
                 if r["inputs"]["metadata"]["name"] == name]
        assert vap["urn"] in vap_binding["dependencies"]


def test_shared_resources_belong_to_no_tenant(result: RenderResult) -> None:
    for typ in ("eks:index:Cluster", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup", "aws:eks/addon:Addon",
                "pulumi:providers:kubernetes",
                "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"):
        assert all(r["tenant"] is None for r in result.of_type(typ)), typ


def _tenant_inputs(result: RenderResult, t: str) -> dict[tuple[str, str], Any]:
    return {(r["type"], r["name"]): r["inputs"] for r in result.for_tenant(t)
            if r["type"].startswith(("aws:eks/", "aws:ec2/launchTemplate", "aws:iam/"))}


def test_adding_and_reordering_tenants_leaves_other_node_groups_untouched(result: RenderResult) -> None:
    spec = _spec()
    spec["tenants"] = [spec["tenants"][2], tenant("delta", 5), spec["tenants"][0], spec["tenants"][1]]
    changed, _ = render_cluster(spec)
    for t in ("alpha", "beta", "gamma"):
        before, after = _tenant_inputs(result, t), _tenant_inputs(changed, t)
        assert before and before == after, t
    assert node_group(changed, "delta")["inputs"]["nodeGroupNamePrefix"] == "acme-delta-"


def test_node_group_quota_is_checked_before_anything_is_built() -> None:
    fits = spec_with([tenant(f"t{i}", i) for i in range(4)], nodeGroupQuota=5)
    assert len(load_platform(fits).tenants) == 4  # 4 tenants + the system group = 5
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant(f"t{i}", i) for i in range(5)], nodeGroupQuota=5))
    [p] = [p for p in err.value.problems if p.path == "tenants"]
    assert "6 managed node groups" in p.message and "nodeGroupQuota 5" in p.message
    assert "Service Quotas" in p.message


def test_node_groups_are_replaced_create_first(result: RenderResult) -> None:
    """D9: a fixed nodeGroupName makes pulumi-terraform-bridge replace delete-first
    (nameRequiresDeleteBeforeReplace: an auto-name field set by the program); a prefix lets the
    replacement (instance types, AMI type, capacity type, subnets: ForceNew in
    terraform-provider-aws node_group.go) be created before the old group is deleted."""
    groups = result.of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(groups) == 4  # system + 3 tenants
    for ng in groups:
        i = ng["inputs"]
        assert "nodeGroupName" not in i, ng["name"]
        assert i["nodeGroupNamePrefix"].endswith("-") and len(i["nodeGroupNamePrefix"]) <= 37


def test_long_node_group_prefixes_are_cut_and_stay_distinct() -> None:
    from tenancy.spec import naming

    a = naming.node_group_name_prefix("p" * 24 + "-" + "tenant-one-with-a-long-name")
    b = naming.node_group_name_prefix("p" * 24 + "-" + "tenant-two-with-a-long-name")
    assert len(a) == len(b) == 37 and a != b and a.endswith("-")
    assert naming.node_group_name_prefix("acme-alpha") == "acme-alpha-"
