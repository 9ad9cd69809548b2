"""Operability of autoscaling, registered into :mod:`tenancy.review.operability` (its
``EXTENSIONS``): what the cluster-autoscaler needs to work, read from the RENDERED resources —
its Deployment on the system nodes with an identity of its own, the tags that let it discover and
model every node group, the node groups' ``desiredSize`` left to it (or managed without it), and
its network paths (Kubernetes API; STS and EC2 through the interface endpoints; Auto Scaling and
EKS, which have no interface endpoint here, through the NAT gateways).

Sources: kubernetes/autoscaler ``cluster-autoscaler/cloudprovider/aws/README.md`` (auto-discovery,
node-template tags, ``eks:DescribeNodegroup`` and its PrivateLink note) and ``aws_manager.go``;
:mod:`tenancy.plan.autoscaler`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenancy.plan import autoscaler as aplan
from tenancy.plan import network as netplan
from tenancy.review.operability import Rendered, Status, check, flow_result
from tenancy.review.operability_cluster import COREDNS, Endpoint, flows, platform_pod
from tenancy.spec.wire import AWS_AUTOSCALING_TAG, AWS_EKS_POD_IDENTITY, IRSA_ANNOTATION, SUBNET_ROLE_TAG
from tenancy.spec.wire import AWS_ROUTE as ROUTE
from tenancy.spec.wire import AWS_ROUTE_TABLE_ASSOCIATION as ROUTE_ASSOCIATION
from tenancy.spec.wire import AWS_SUBNET as SUBNET

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
AWS_PUBLIC_ENDPOINT = "52.94.0.1"
"""A sample public address standing for ``autoscaling.<region>.amazonaws.com`` and
``eks.<region>.amazonaws.com`` (reached through NAT: no interface endpoint for them here)."""

_README = "kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md"


def _on(r: Rendered) -> bool:
    return aplan.enabled(r.spec)


def _deployment(r: Rendered) -> Mapping[str, Any] | None:
    return next((d for d in r.of_type(DEPLOYMENT) if (d["inputs"].get("metadata") or {}).get("name") == aplan.NAME
                 and d["inputs"]["metadata"].get("namespace") == aplan.NAMESPACE), None)


def asg_name(node_group: Mapping[str, Any]) -> str | None:
    """The Auto Scaling group EKS made for a rendered node group (its ``resources`` output)."""
    try:
        return str((node_group.get("outputs") or {})["resources"][0]["autoscalingGroups"][0]["name"])
    except (KeyError, IndexError, TypeError):
        return None


def asg_tags(r: Rendered) -> dict[str, dict[str, str]]:
    """Rendered ``aws.autoscaling.Tag`` resources, as ASG name → {key: value}."""
    out: dict[str, dict[str, str]] = {}
    for t in r.of_type(AWS_AUTOSCALING_TAG):
        i = t["inputs"]
        out.setdefault(str(i.get("autoscalingGroupName")), {})[i["tag"]["key"]] = i["tag"]["value"]
    return out


_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


@check("node groups' desiredSize: the autoscaler's (ignored by pulumi up) with one, managed without", "prerequisite",
       _README + ": 'Cluster Autoscaler … will only adjust the desired value'")
def _desired_size(r: Rendered) -> tuple[Status, str]:
    groups = r.node_groups()
    if not groups:
        return "n/a", "no node groups"
    ignored = [g["name"] for g in groups if "scalingConfig.desiredSize" in (g.get("ignoreChanges") or [])]
    if _on(r):
        bad = [g["name"] for g in groups if g["name"] not in ignored]
        return ("missing", f"pulumi up would scale back what the autoscaler set: {', '.join(bad[:5])}") if bad else \
            ("ok", f"{len(groups)} group(s) leave desiredSize to the cluster-autoscaler")
    if ignored:
        return "missing", f"nothing scales, yet desiredSize changes are ignored: {', '.join(ignored[:5])}"
    return "ok", f"no autoscaler: {len(groups)} group(s) run the spec's desiredSize"


@check("cluster-autoscaler → every node group discoverable and modelled from zero (ASG tags)", "prerequisite",
       _README + " (auto-discovery tags; node-template label/taint tags); aws_manager.go extractTaintsFromAsg")
def _discovery(r: Rendered) -> tuple[Status, str]:
    if not _on(r):
        return "n/a", "cluster.autoscaler is none"
    tags, bad = asg_tags(r), []
    cluster_tag = aplan.cluster_tag(r.spec.name)
    for g in r.node_groups():
        name, i = asg_name(g), g["inputs"]
        have = tags.get(name or "", {})
        need = {aplan.ENABLED_TAG: "true", cluster_tag: aplan.OWNED}  # the values its role's condition needs
        need.update({f"{aplan.LABEL_TAG_PREFIX}{k}": v for k, v in (i.get("labels") or {}).items()})
        need.update({f"{aplan.TAINT_TAG_PREFIX}{t['key']}": f"{t.get('value', '')}:{_EFFECT[t['effect']]}"
                     for t in i.get("taints") or []})
        wrong = [k for k, v in need.items() if have.get(k) != v]
        if wrong:
            bad.append(f"{g['name']} ({', '.join(wrong[:3])})")
    if bad:
        return "missing", "Auto Scaling groups without their tags: " + "; ".join(bad[:5])
    return "ok", f"{len(r.node_groups())} group(s) tagged for discovery, labels and taints"


@check("cluster-autoscaler → runs on the system nodes, image of the cluster's minor, own identity", "prerequisite",
       _README + " ('Permissions': IRSA); cluster-autoscaler/README.md ('Releases': one minor per Kubernetes minor)")
def _deployed(r: Rendered) -> tuple[Status, str]:
    if not _on(r):
        return "n/a", "cluster.autoscaler is none"
    d, system = _deployment(r), r.system_node_group()
    if d is None or system is None:
        return "missing", "no cluster-autoscaler Deployment" if d is None else "no system node group"
    pod = d["inputs"]["spec"]["template"]["spec"]
    labels = system["inputs"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod.get("nodeSelector") or {}).items()):
        return "missing", f"nodeSelector {pod.get('nodeSelector')} does not select the system nodes {labels}"
    tolerated = {(t.get("key"), t.get("effect")) for t in pod.get("tolerations") or []}
    untolerated = [t["key"] for t in system["inputs"].get("taints") or []
                   if (t["key"], _EFFECT[t["effect"]]) not in tolerated]
    if untolerated:
        return "missing", f"does not tolerate the system nodes' taints {untolerated}"
    image = pod["containers"][0]["image"]
    if not image.rsplit(":", 1)[-1].startswith(f"v{r.spec.kubernetes_version}."):
        return "missing", f"image {image} is not made for Kubernetes {r.spec.kubernetes_version}"
    if r.spec.identity.mode == "irsa":
        sa = next((s for s in r.of_type(SERVICE_ACCOUNT) if s["inputs"]["metadata"].get("name") == aplan.NAME
                   and s["inputs"]["metadata"].get("namespace") == aplan.NAMESPACE), None)
        if sa is None or not (sa["inputs"]["metadata"].get("annotations") or {}).get(IRSA_ANNOTATION):
            return "missing", "its ServiceAccount has no IRSA role: it would need the node role's credentials"
    elif not any(a["inputs"].get("namespace") == aplan.NAMESPACE and a["inputs"].get("serviceAccount") == aplan.NAME
                 for a in r.of_type(AWS_EKS_POD_IDENTITY)):
        return "missing", "no Pod Identity association for kube-system/cluster-autoscaler"
    return "ok", f"{image} on the system nodes, {r.spec.identity.mode} role of its own"


def _system_subnets_nat(r: Rendered) -> bool:
    """Whether every system subnet's route table sends 0.0.0.0/0 to a NAT gateway."""
    system = {str(s["id"]) for s in r.of_type(SUBNET)
              if (s["inputs"].get("tags") or {}).get(SUBNET_ROLE_TAG) == "system"}
    tables = {str(a["inputs"].get("routeTableId")) for a in r.of_type(ROUTE_ASSOCIATION)
              if a["inputs"].get("subnetId") in system}
    nat = {str(x["inputs"].get("routeTableId")) for x in r.of_type(ROUTE)
           if x["inputs"].get("destinationCidrBlock") == "0.0.0.0/0" and x["inputs"].get("natGatewayId")}
    return bool(system) and len(tables) >= 1 and tables <= nat and \
        len({a["inputs"].get("subnetId") for a in r.of_type(ROUTE_ASSOCIATION)} & system) == len(system)


@check("cluster-autoscaler → Kubernetes API, STS/EC2 endpoints (tcp/443), Auto Scaling/EKS via NAT, DNS", "flow",
       _README + " (IAM actions on autoscaling, ec2, eks; 'For private clusters … an interface endpoint for Amazon "
       "EKS'); EKS user guide private-clusters.adoc")
def _autoscaler_flows(r: Rendered) -> tuple[Status, str]:
    if not _on(r):
        return "n/a", "cluster.autoscaler is none"
    system = r.system_node_group()
    if system is None:
        return "missing", "no system node group"
    pod = platform_pod(aplan.NAMESPACE, **aplan.POD_LABELS)
    endpoint_ip = str(r.spec.address_plan.system_subnets()[0].network_address + 20)
    results = [
        flows(r, [("autoscaler → API ClusterIP", pod, Endpoint(ip=r.spec.kubernetes_service_ip)),
                   ("autoscaler → STS/EC2 interface endpoints", pod, Endpoint(ip=endpoint_ip)),
                   ("autoscaler → Auto Scaling/EKS public endpoints", pod, Endpoint(ip=AWS_PUBLIC_ENDPOINT))],
               "TCP", 443),
        flows(r, [("autoscaler → CoreDNS", pod, COREDNS)], "UDP", 53),
        flow_result(r, [(r.node_machines(system), r.interface_endpoints())], "tcp", netplan.HTTPS_PORT),
    ]
    bad = [d for s, d in results if s != "ok"]
    out_443 = any(rule.egress and rule.cidr is not None and rule.cidr.prefixlen == 0 and
                  rule.protocol in ("-1", "tcp") and rule.lo <= netplan.HTTPS_PORT <= rule.hi
                  for g in r.node_machines(system).groups for rule in r.rules_by_group.get(g, ()))
    if not out_443:
        bad.append("the system nodes' security group sends no tcp/443 to the internet (Auto Scaling, EKS APIs)")
    if not _system_subnets_nat(r):
        bad.append("the system subnets have no default route to a NAT gateway (Auto Scaling, EKS APIs)")
    if bad:
        return "missing", "; ".join(bad)
    return "ok", ("API, STS/EC2 endpoints and DNS open (NetworkPolicies, strict mode, and security groups); "
                  "Auto Scaling and EKS through NAT")

