"""Autoscaling: the Kubernetes cluster-autoscaler for the managed node groups.

* :class:`ClusterAutoscaler` (``tenancy:cluster:ClusterAutoscaler``), one per platform, built by
  :class:`tenancy.Platform` when ``cluster.autoscaler`` is ``clusterAutoscaler`` (the default): its
  IAM role (IRSA or Pod Identity, as ``identity.mode``), and its Kubernetes objects rendered by the
  library (ServiceAccount, RBAC, the priority expander's ConfigMap, the Deployment on the system
  nodes).
* :func:`tag_autoscaling_group` — the auto-discovery and node-template tags on one managed node
  group's Auto Scaling group (called by :mod:`tenancy.components.cluster` for every group).

Decisions and sources: :mod:`tenancy.plan.autoscaler`; docs/cluster.md, "Scaling".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi

from tenancy.components import invokes
from tenancy.components.addon import AddonArgs, service_account_trust
from tenancy.plan import autoscaler as plan
from tenancy.spec import naming

__all__ = ["ClusterAutoscaler", "ClusterAutoscalerArgs", "tag_autoscaling_group"]


def tag_autoscaling_group(parent: pulumi.Resource, prefix: str, node_group: Any, cluster_name: str,
                          labels: dict[str, str], taints: list[dict[str, str]]) -> list[Any]:
    """One ``aws.autoscaling.Tag`` per tag of :func:`tenancy.plan.autoscaler.asg_tags` on the node
    group's Auto Scaling group (read from the group's ``resources``), not propagated to instances."""
    import pulumi_aws as aws

    asg_name = node_group.resources.apply(lambda rs: rs[0].autoscaling_groups[0].name)
    return [
        aws.autoscaling.Tag(
            f"{prefix}-asg-{plan.asg_tag_key(key)}",
            autoscaling_group_name=asg_name,
            tag={"key": key, "value": value, "propagate_at_launch": False},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[node_group]),
        )
        for key, value in plan.asg_tags(cluster_name, labels, taints).items()
    ]


@dataclass(frozen=True)
class ClusterAutoscalerArgs(AddonArgs):
    """Inputs of :class:`ClusterAutoscaler` (:class:`~tenancy.components.addon.AddonArgs`).
    ``depends_on``: the system node group (where it runs), the platform's NetworkPolicies (strict
    mode) and, with Pod Identity, the agent add-on."""


class ClusterAutoscaler(pulumi.ComponentResource):
    """The cluster-autoscaler: role ``<platform>_cluster-autoscaler`` (its inline policy scales
    only this cluster's tagged groups), in ``podIdentity`` mode its association, and the
    Kubernetes objects of :func:`tenancy.plan.autoscaler.manifests`.

    Attributes: ``role``, ``policy``, ``association`` (None with IRSA), ``objects`` (kind → resource).
    """

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:ClusterAutoscaler", name, None, opts)
        self._args = args
        self._tags = naming.tags(args.platform.name)
        self._child = pulumi.ResourceOptions(parent=self)
        self._partition = invokes.partition(self)
        self._account = invokes.account_id(self)
        self._region = invokes.region(self)
        self._role()
        self._objects()
        self.register_outputs({"roleArn": self.role.arn})

    def _role(self) -> None:
        """The role (IRSA or Pod Identity trust for kube-system/cluster-autoscaler only), its
        inline policy and, with Pod Identity, the association."""
        import pulumi_aws as aws

        args, child, p = self._args, self._child, self._args.platform.name
        ns, sa = plan.SERVICE_ACCOUNT
        irsa = args.platform.identity.mode == "irsa"
        trust = service_account_trust(args, ns, sa)
        self.role = aws.iam.Role(
            plan.role_name(p), name=plan.role_name(p),
            description=f"cluster-autoscaler ({ns}/{sa}) via {'IRSA' if irsa else 'Pod Identity'}: scales only "
                        f"the Auto Scaling groups tagged for cluster {naming.cluster_name(p)}",
            assume_role_policy=trust, tags=self._tags, opts=child)
        cname = naming.cluster_name(p)
        self.policy = aws.iam.RolePolicy(
            f"{plan.role_name(p)}-scaling", role=self.role.name, name="cluster-autoscaler",
            policy=pulumi.Output.all(self._partition, self._region, self._account).apply(
                lambda a: json.dumps(plan.iam_policy(a[0], a[1], a[2], cname))),
            opts=child)
        self.association: Any = None
        if not irsa:
            self.association = aws.eks.PodIdentityAssociation(
                plan.role_name(p), cluster_name=args.cluster_name, namespace=ns, service_account=sa,
                role_arn=self.role.arn, tags=self._tags, opts=child)

    def _objects(self) -> None:
        """The Kubernetes objects, in order; the Deployment after its identity, its RBAC and
        ``depends_on``. The role ARN (IRSA annotation) and the Region (``AWS_REGION``) are
        Outputs placed inside the otherwise plain manifests."""
        import pulumi_kubernetes as k8s

        args = self._args
        irsa = args.platform.identity.mode == "irsa"
        typed: dict[str, Any] = {
            "ServiceAccount": k8s.core.v1.ServiceAccount, "ClusterRole": k8s.rbac.v1.ClusterRole,
            "ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding, "Role": k8s.rbac.v1.Role,
            "RoleBinding": k8s.rbac.v1.RoleBinding, "ConfigMap": k8s.core.v1.ConfigMap,
            "Deployment": k8s.apps.v1.Deployment}
        fields = {"rules": "rules", "roleRef": "role_ref", "subjects": "subjects", "data": "data", "spec": "spec"}
        manifests = plan.manifests(args.platform, cast(str, self._region), cast(str, self.role.arn) if irsa else None)
        self.objects: dict[str, Any] = {}
        identity: list[pulumi.Resource] = [self.policy, *([self.association] if self.association else [])]
        for m in manifests:
            kind = m["kind"]
            # The Deployment waits for its identity and RBAC, never for the priorities ConfigMap: a
            # ConfigMap's data change is a (delete-before-)replacement in pulumi-kubernetes, and a
            # resource-level dependency would drag the Deployment into it (pulumi/pulumi#2167); the
            # expander reads the ConfigMap whenever it changes, and falls back to least-waste without it.
            wait = ([*identity, *(o for k, o in self.objects.items() if k != "ConfigMap"), *args.depends_on]
                    if kind == "Deployment" else [])
            self.objects[kind] = typed[kind](
                f"{args.platform.name}_cluster-autoscaler-{kind.lower()}", metadata=m["metadata"],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=wait),
                **{fields[k]: v for k, v in m.items() if k not in ("apiVersion", "kind", "metadata")})
