"""Pure decisions of the cluster layer (no Pulumi)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tenancy.plan import cluster as plan


def test_al2023_has_one_encrypted_root_volume_of_the_requested_size() -> None:
    assert plan.block_device_mappings("AL2023_x86_64_STANDARD", 80) == [{
        "device_name": "/dev/xvda",
        "ebs": {"volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true", "volume_size": 80}}]


def test_bottlerocket_sizes_the_data_volume_and_encrypts_both() -> None:
    vols = plan.block_device_mappings("BOTTLEROCKET_ARM_64", 60)
    assert [v["device_name"] for v in vols] == ["/dev/xvda", "/dev/xvdb"]
    assert all(v["ebs"]["encrypted"] == "true" for v in vols)
    assert "volume_size" not in vols[0]["ebs"]  # the OS volume keeps the AMI's size
    assert vols[1]["ebs"]["volume_size"] == 60


def test_taints_use_the_eks_api_casing() -> None:
    assert plan.tenant_node_taints("alpha") == [{"key": "tenancy/tenant", "value": "alpha", "effect": "NO_SCHEDULE"}]
    assert plan.system_node_taints()[0]["effect"] == "NO_SCHEDULE"


def test_cni_policy_is_not_a_node_policy() -> None:
    assert plan.CNI_POLICY not in plan.NODE_POLICIES
    assert set(plan.NODE_POLICIES) == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"}


def test_platform_names_cannot_collide_with_tenant_names() -> None:
    # Tenant names are DNS labels (no underscore); platform-level names always carry one.
    assert "_" in plan.system_node_group_name("acme") and "_" in plan.cni_role_name("acme")


@given(st.lists(st.from_regex(r"arn:aws:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}", fullmatch=True),
                min_size=2, max_size=20, unique=True))
def test_principal_keys_are_stable_and_distinct(arns: list[str]) -> None:
    keys = [plan.principal_key(a) for a in arns]
    assert len(set(keys)) == len(keys)
    assert keys == [plan.principal_key(a) for a in arns]
    assert all(len(k) <= 49 for k in keys)


def test_web_identity_trust_is_exact() -> None:
    doc = plan.web_identity_trust_policy("arn:aws:iam::1:oidc-provider/oidc.x/id/A", "https://oidc.x/id/A",
                                         "kube-system", "aws-node")
    cond = doc["Statement"][0]["Condition"]
    assert cond == {"StringEquals": {"oidc.x/id/A:sub": "system:serviceaccount:kube-system:aws-node",
                                     "oidc.x/id/A:aud": "sts.amazonaws.com"}}


# What pulumi-eks's own VpcCniAddon writes to the same EKS managed add-on's configurationValues
# (pulumi/pulumi-eks at 7bf0c1b1, nodejs/eks/addons/cni-addon.ts: computeEnv and
# mergeConfigurationValues, pinned by __snapshots__/cni-addon.test.ts.snap; its
# examples/pod-security-groups/index.ts adds env POD_SECURITY_GROUP_ENFORCING_MODE "strict"), and
# the EKS user guide's strict network-policy mode (env NETWORK_POLICY_ENFORCING_MODE). Written out
# here by hand from those sources, so that a renamed or mistyped key fails.
PULUMI_EKS_TOP_LEVEL = {"enableNetworkPolicy", "env", "init"}
PULUMI_EKS_ENV = {
    "AWS_VPC_CNI_NODE_PORT_SUPPORT", "AWS_VPC_ENI_MTU", "AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER",
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "AWS_VPC_K8S_CNI_EXTERNALSNAT", "AWS_VPC_K8S_CNI_LOGLEVEL",
    "AWS_VPC_K8S_CNI_LOG_FILE", "AWS_VPC_K8S_CNI_VETHPREFIX", "AWS_VPC_K8S_PLUGIN_LOG_FILE",
    "AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "ENABLE_POD_ENI", "ENABLE_PREFIX_DELEGATION", "ENI_CONFIG_LABEL_DEF",
    "WARM_ENI_TARGET", "WARM_IP_TARGET", "WARM_PREFIX_TARGET",
    "POD_SECURITY_GROUP_ENFORCING_MODE",  # the pod-security-groups example
    "NETWORK_POLICY_ENFORCING_MODE",  # EKS user guide, network policy strict mode
}
PULUMI_EKS_INIT_ENV = {"DISABLE_TCP_EARLY_DEMUX"}


def _string_leaves(value: object) -> bool:
    if isinstance(value, dict):
        return all(_string_leaves(v) for v in value.values())
    return isinstance(value, str)


def test_vpc_cni_configuration_has_the_shape_the_managed_add_on_takes() -> None:
    for mode in ("strict", "standard"):
        for pooled in (False, True):
            cfg = plan.vpc_cni_configuration(mode, pod_security_groups=pooled)
            assert set(cfg) <= PULUMI_EKS_TOP_LEVEL, cfg
            assert set(cfg["env"]) <= PULUMI_EKS_ENV, cfg
            assert set(cfg.get("init", {}).get("env", {})) <= PULUMI_EKS_INIT_ENV, cfg
            # every value a string ("true", not true), as pulumi-eks stringifies them
            assert _string_leaves(cfg), cfg
            assert cfg["enableNetworkPolicy"] == "true" and cfg["env"]["NETWORK_POLICY_ENFORCING_MODE"] == mode
    pooled_cfg = plan.vpc_cni_configuration("strict", pod_security_groups=True)
    assert pooled_cfg["env"]["ENABLE_POD_ENI"] == "true"
    assert pooled_cfg["env"]["POD_SECURITY_GROUP_ENFORCING_MODE"] == "strict"
    assert pooled_cfg["init"] == {"env": {"DISABLE_TCP_EARLY_DEMUX": "true"}}
