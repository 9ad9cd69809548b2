"""The in-cluster tenant bundle: one tenant's namespace, pod security, quota, RBAC, service
accounts and zero-trust network policies, as a Pulumi component usable against any cluster.

The objects come from :mod:`tenancy.plan.kubernetes` (pure manifests); this module only
registers them, unchanged, with typed pulumi_kubernetes resources::

    import pulumi_kubernetes as k8s
    from tenancy.components.bundle import TenantBundle, TenantBundleArgs
    from tenancy.spec import TenantSpec, WorkloadsSpec

    provider = k8s.Provider("cluster", kubeconfig=kubeconfig)
    alpha = TenantBundle("alpha", TenantBundleArgs(
        tenant=TenantSpec(name="alpha", slot=0, service_accounts=["app"], allow_from=["beta"]),
        vpc_cidr="10.40.0.0/16",
        role_arns={"app": app_role.arn},
        provider=provider,
    ))
    beta = TenantBundle("beta", TenantBundleArgs(tenant=TenantSpec(name="beta", slot=1),
                                                 vpc_cidr="10.40.0.0/16", provider=provider))
    # alpha's spec says allowFrom: [beta]: the edge is registered with alpha (once), waiting for
    # beta's namespace. The explicit alpha.allow_from("beta", ...) of earlier versions returns that
    # same edge (deprecated: DeprecationWarning).

Lifecycle: the Namespace is registered with ``retain_on_delete=True`` and every namespaced
child with ``deleted_with=namespace``. Removing a tenant from the program therefore deletes
*nothing* in the cluster: Pulumi forgets the namespace and skips its children (the engine skips
a resource's delete when its ``deleted_with`` target is being deleted in the same update, and a
retained resource counts as deleted). The namespace keeps its data, its workloads and its fences
(default-deny, quota) until an operator deletes it with ``kubectl delete namespace <tenant>``,
which removes all of it at once — never the fences before the workloads.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from tenancy.plan import cluster_policies
from tenancy.plan import kubernetes as plan
from tenancy.spec import AllowFrom, EdgePort, TenantSpec, WorkloadsSpec, naming
from tenancy.spec.wire import CNP_KIND, NETWORKING_API_VERSION, RBAC_API_VERSION, TENANT_BUNDLE_TYPE

__all__ = ["TenantBundle", "TenantBundleArgs", "TenantPeering", "TenantPeeringArgs", "allow_tenant_traffic",
           "register_manifest"]

_TYPED: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    (RBAC_API_VERSION, "Role"): k8s.rbac.v1.Role,
    (RBAC_API_VERSION, "RoleBinding"): k8s.rbac.v1.RoleBinding,
    (NETWORKING_API_VERSION, "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}
_TOP_LEVEL = {"rules": "rules", "roleRef": "role_ref", "subjects": "subjects", "spec": "spec",
              "automountServiceAccountToken": "automount_service_account_token"}


def register_manifest(resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None,
                      patch: bool = False) -> pulumi.CustomResource:
    """Register one manifest with its typed pulumi_kubernetes class (``CustomResource`` for kinds
    it does not know, e.g. Istio's). ``patch=True`` uses the ``…Patch`` class (server-side apply
    onto an object Kubernetes creates itself, such as the ``default`` ServiceAccount).

    The manifest's camelCase keys are passed through unchanged: the registered inputs ARE the
    manifest (checked by tests/components/test_bundle.py)."""
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    cls = _TYPED.get((api_version, kind))
    extra = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
    if cls is None:
        if patch:
            raise ValueError(f"no patch resource for {api_version} {kind}")
        return k8s.apiextensions.CustomResource(resource_name, api_version=api_version, kind=kind,
                                                metadata=manifest["metadata"], opts=opts, **extra)
    if patch:
        cls = getattr(k8s.core.v1, f"{kind}Patch") if api_version == "v1" else None
        if cls is None:
            raise ValueError(f"no patch resource for {api_version} {kind}")
    unknown = set(extra) - set(_TOP_LEVEL)
    if unknown:
        raise ValueError(f"{kind} field(s) {sorted(unknown)} are not mapped to pulumi_kubernetes arguments")
    kwargs = {_TOP_LEVEL[k]: v for k, v in extra.items()}
    return cls(resource_name, metadata=manifest["metadata"], opts=opts, **kwargs)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class TenantBundleArgs:
    """Inputs of :class:`TenantBundle`."""

    tenant: TenantSpec
    """The tenant's spec (name, quota, limits, serviceAccounts, internetEgress, allowFrom)."""
    vpc_cidr: str
    """The cluster's VPC CIDR, excluded from internet egress."""
    workloads: WorkloadsSpec = field(default_factory=WorkloadsSpec)
    """Platform-wide in-cluster settings: ingress-controller namespace, mesh, Pod Security
    version. Default: no ingress controller, no mesh, ``latest``."""
    role_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Service account name -> IAM role ARN (IRSA) from the identity layer. Service accounts
    without an entry get no annotation (EKS Pod Identity maps them instead). Default none."""
    provider: k8s.Provider | None = None
    """The Kubernetes provider of the target cluster. Default ``None``: inherited from the
    parent, else Pulumi's default provider (the ambient kubeconfig)."""
    aws_service_cidrs: Sequence[pulumi.Input[str]] = ()
    """CIDRs of AWS service endpoints (interface endpoint subnets, the S3 prefix list) the pods
    may reach on TCP 443 without internet egress. Default none."""
    s3_cidr_blocks: pulumi.Input[Sequence[str]] | None = None
    """S3's address ranges (the gateway endpoint's prefix list, e.g. ``Network.s3_cidr_blocks``).
    When given, a tenant with service accounts and no internet egress may reach them on TCP 443,
    so its workloads can use the tenant-data bucket. Default none."""
    wait_for: Sequence[pulumi.Resource] = ()
    """Resources the tenant's namespace must wait for. The platform passes its placement
    admission policy, so no tenant namespace exists (and no pod can be created in it) before the
    policy that pins pods to their tenant's nodes is in force. Default none."""
    pod_identity_agent: bool = False
    """Allow egress to the node-local EKS Pod Identity agent (169.254.170.23:80). Set it with
    ``identity.mode: podIdentity``. Default off."""
    service_cidr: str | None = None
    """The cluster's Service range (``PlatformSpec.service_cidr``), excluded from internet egress
    (the policy agent sees ClusterIPs before kube-proxy translates them). Default none: only the
    VPC and link-local ranges are excluded — pass it whenever the cluster is known."""
    kubernetes_service_ip: str | None = None
    """The ``kubernetes`` Service's ClusterIP (``PlatformSpec.kubernetes_service_ip``); needed
    when the tenant sets ``kubernetesApiAccess``."""
    api_endpoint_cidrs: Sequence[str] = ()
    """Where the API endpoint's network interfaces live (the cluster's subnets: the system
    subnets); reached on 443 by tenants with ``kubernetesApiAccess``. Default none."""
    register_allow_from: bool = True
    """Register the edges of the spec's ``allowFrom`` when the bundle is built (default). Calling
    :meth:`TenantBundle.allow_from` for the same peer afterwards returns that edge, never a
    second one. The Platform sets ``False`` and registers each edge once every tenant exists."""
    pod_security_group_ids: pulumi.Input[Sequence[str]] | None = None
    """For a POOLED tenant (``tenant.pool``): the security groups put on every one of its pods by
    the SecurityGroupPolicy ``tenancy-pod-security-groups`` (security groups for pods), e.g.
    ``TenantNetwork.pod_security_group_ids`` (the tenant's own group and the tenant-nodes marker
    group). Required for pooled tenants, refused for dedicated ones. Default none."""
    cluster_network_policies: bool = False
    """Register the tenant's Admin-tier ``ClusterNetworkPolicy`` ``tenancy-tenant-<tenant>``
    (:mod:`tenancy.plan.cluster_policies`; the cluster needs VPC CNI v1.21.1+ and the Baseline
    policy, which the Platform registers). The Platform passes ``cluster.clusterNetworkPolicies``
    (default on); default off for a standalone bundle, whose cluster is not known."""
    known_tenants: Sequence[str] | None = None
    """The tenants that exist on the cluster. When given, ``allowFrom`` entries (and
    :meth:`TenantBundle.allow_from` peers) not among them are rejected, with the closest name.
    Default ``None``: not checked."""
    peer_namespaces: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Every namespace of an ``allowFrom`` peer built OUTSIDE this program (main one first), by peer,
    for peers with extra ``namespaces``: the edge admits connections from each of them and puts its
    egress policy in each (a team stack passes them from the platform's ``teamStackFacts``,
    :mod:`tenancy.components.team`). A peer not listed has its name alone. Peers whose bundle is in
    the same program give their namespaces themselves. Default none."""


def bundle_problems(args: TenantBundleArgs) -> list[str]:
    """What is wrong with a standalone bundle's inputs (raised as one ``ValueError``): ``allowFrom``
    peers that are not tenants (with ``known_tenants``), or the tenant itself."""
    import difflib

    t = args.tenant
    out = []
    for j, peer in enumerate(t.peers):
        if peer == t.name:
            out.append(f"tenant {t.name!r}: allowFrom[{j}] names the tenant itself; remove it")
        elif args.known_tenants is not None and peer not in args.known_tenants:
            close = difflib.get_close_matches(peer, list(args.known_tenants), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "add that tenant or remove the entry"
            out.append(f"tenant {t.name!r}: allowFrom[{j}] {peer!r} is not a tenant on this cluster; {hint}")
    for peer, nss in args.peer_namespaces.items():
        if not nss or nss[0] != naming.namespace(peer):
            out.append(f"peer_namespaces[{peer!r}] {list(nss)!r} must list the peer's main namespace {peer!r} "
                       "first, then its extra namespaces (naming.tenant_namespaces)")
    return out


def bundle_warnings(args: TenantBundleArgs) -> list[str]:
    """Inputs that build but leave the workloads unable to do what the spec asks: service
    accounts (with IAM roles) but no path to AWS — no internet egress, no AWS service CIDRs, no
    S3 ranges and no Pod Identity agent, so no pod can reach STS to use its role."""
    t = args.tenant
    if t.service_accounts and not t.internet_egress and not args.aws_service_cidrs and \
            args.s3_cidr_blocks is None and not args.pod_identity_agent:
        return [f"tenant {t.name!r} has service accounts {list(t.service_accounts)} but its pods have no path to "
                "AWS (default-deny egress, and no aws_service_cidrs, s3_cidr_blocks or pod_identity_agent): pass the "
                "STS/S3 VPC endpoint subnets as aws_service_cidrs and Network.s3_cidr_blocks as s3_cidr_blocks, or "
                "set internetEgress"]
    return []


class TenantBundle(pulumi.ComponentResource):
    """One tenant's in-cluster objects (``tenancy:bundle:TenantBundle``).

    Attributes:
        namespace: the tenant's main ``k8s.core.v1.Namespace`` (retained on delete).
        namespaces: every Namespace of the tenant by name, main one first (its extra
            ``namespaces`` too; each retained on delete).
        namespace_name: the main namespace's name, as an Output that resolves once it exists.
        resources: every child by ``"<Kind>/<name>"`` (e.g. ``"NetworkPolicy/tenancy-default-deny"``)
            in the main namespace, ``"<Kind>/<namespace>/<name>"`` in an extra one.
        service_accounts: the tenant's ServiceAccounts (in its main namespace) by name.
        manifests: the plain manifests registered (role ARNs may be Outputs).
        peerings: the edges registered with :meth:`allow_from`, by peer.
    """

    namespace: k8s.core.v1.Namespace
    namespace_name: pulumi.Output[str]

    def __init__(self, name: str, args: TenantBundleArgs, opts: pulumi.ResourceOptions | None = None):
        problems = bundle_problems(args)
        if problems:
            raise ValueError("; ".join(problems))
        super().__init__(TENANT_BUNDLE_TYPE, name, None, opts)
        self._name = name
        self._args = args
        tenant = args.tenant
        for warning in bundle_warnings(args):
            warnings.warn(warning, UserWarning, stacklevel=2)
            pulumi.log.warn(warning, resource=self)
        self.manifests = plan.tenant_manifests(tenant, args.workloads, args.vpc_cidr, args.role_arns,
                                               args.aws_service_cidrs, args.pod_identity_agent,
                                               args.service_cidr, args.api_endpoint_cidrs,
                                               args.kubernetes_service_ip, args.pod_security_group_ids)
        self.resources: dict[str, pulumi.CustomResource] = {}
        self.service_accounts: dict[str, k8s.core.v1.ServiceAccount] = {}
        self.peerings: dict[str, TenantPeering] = {}
        self.namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for m in list(self.manifests):
            self._register(m)
        self.namespace = self.namespaces[naming.namespace(tenant.name)]
        self.namespace_name = self.namespace.metadata.name
        if self._s3_applies():
            for ns in self.namespaces:
                s3 = plan.s3_policy(tenant, [], ns)
                s3["spec"] = pulumi.Output.from_input(args.s3_cidr_blocks).apply(functools.partial(
                    _s3_spec, tenant, ns))
                self.manifests.append(s3)
                self._register(s3)
        self._register_cluster_policy(pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=[self.namespace], deleted_with=self.namespace))
        outputs: dict[str, Any] = {"namespace": self.namespace_name}
        self._pending: set[str] = set()
        if args.register_allow_from:
            deferred = self._register_spec_edges()
            if deferred is not None:
                outputs["edges"] = deferred
        self.register_outputs(outputs)

    def _register(self, m: Mapping[str, Any]) -> None:
        """Register one manifest of the bundle. Namespaces: retained on delete, after ``wait_for``;
        named ``<bundle>`` (the main one) or ``<bundle>/namespace/<ns>``. Namespaced objects wait
        for their namespace and are deleted with it; named ``<bundle>/<name>`` in the main
        namespace, ``<bundle>/<ns>/<name>`` in an extra one (the main one's names predate extra
        namespaces and stay)."""
        args, name = self._args, self._name
        main = naming.namespace(args.tenant.name)
        meta = m["metadata"]
        if m["kind"] == "Namespace":
            ns = meta["name"]
            res = register_manifest(name if ns == main else f"{name}/namespace/{ns}", m, pulumi.ResourceOptions(
                parent=self, provider=args.provider, retain_on_delete=True, depends_on=list(args.wait_for)))
            self.namespaces[ns] = res  # type: ignore[assignment]
            self.resources[f"Namespace/{ns}"] = res
            return
        ns, obj = meta["namespace"], meta["name"]
        owner = self.namespaces[ns]
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[owner], deleted_with=owner)
        is_default_sa = m["kind"] == "ServiceAccount" and obj == "default"
        where = "" if ns == main else f"{ns}/"
        res = register_manifest(f"{name}/{where}{obj}", m, child, patch=is_default_sa)
        self.resources[f"{m['kind']}{'Patch' if is_default_sa else ''}/{where}{obj}"] = res
        if m["kind"] == "ServiceAccount" and not is_default_sa and ns == main:
            self.service_accounts[obj] = res  # type: ignore[assignment]

    def _s3_applies(self) -> bool:
        t = self._args.tenant
        return self._args.s3_cidr_blocks is not None and bool(t.service_accounts) and not t.internet_egress

    def _register_cluster_policy(self, child: pulumi.ResourceOptions) -> None:
        """With ``cluster_network_policies``: the tenant's Admin-tier ClusterNetworkPolicy, mirroring
        the namespaced allowances (S3's ranges resolve with the prefix list)."""
        args, tenant = self._args, self._args.tenant
        if not args.cluster_network_policies:
            return

        def build(s3: Sequence[Any]) -> dict[str, Any]:
            return cluster_policies.tenant_policy(
                tenant, args.workloads, args.vpc_cidr, args.aws_service_cidrs, args.pod_identity_agent,
                args.service_cidr, args.api_endpoint_cidrs, args.kubernetes_service_ip, s3)

        policy = build([])
        if self._s3_applies():
            policy["spec"] = pulumi.Output.from_input(args.s3_cidr_blocks).apply(
                lambda cidrs: build(sorted(cidrs or []))["spec"])
        self.manifests.append(policy)
        obj = policy["metadata"]["name"]
        self.resources[f"{CNP_KIND}/{obj}"] = register_manifest(f"{self._name}/{obj}", policy, child)

    def _register_spec_edges(self) -> pulumi.Output[Any] | None:
        """The spec's ``allowFrom`` edges, each registered once. A peer whose bundle is already in
        this program gives its namespace now (the edge waits for it and is deleted with it); a
        peer built later in the program resolves the edge when it is built; the rest (peers
        outside this program) are registered once the program's body has run."""
        bundles, waiting = _program_bundles()
        key = id(self._args.provider) if self._args.provider is not None else 0
        me = self._args.tenant.name
        bundles[(key, me)] = self
        for peer in self._args.tenant.peers:
            known = bundles.get((key, peer))
            if known is not None:
                self._register_edge(peer, peer_namespace=known.namespace, peer_namespaces=known.namespaces)
            else:
                self._pending.add(peer)
                waiting.setdefault((key, peer), []).append(self)
        for other in waiting.pop((key, me), []):
            if me in other._pending:
                other._register_edge(me, peer_namespace=self.namespace, peer_namespaces=self.namespaces)
        if not self._pending:
            return None
        # Runs after the synchronous program body (an apply of a known value), and is awaited
        # through register_outputs: the engine waits for these registrations.
        return pulumi.Output.from_input(True).apply(lambda _: sorted(self._flush()))

    def _flush(self) -> list[str]:
        for peer in sorted(self._pending):
            self._register_edge(peer)
        return list(self.peerings)

    def allow_from(self, peer: str | AllowFrom, peer_namespace: k8s.core.v1.Namespace | None = None,
                   opts: pulumi.ResourceOptions | None = None,
                   peer_namespaces: Mapping[str, k8s.core.v1.Namespace | None] | None = None) -> TenantPeering:
        """Register the edge "this tenant allows connections from ``peer``" under this bundle.
        ``peer_namespace``, when managed in the same program, is waited for (the edge puts an
        egress policy in it) and deletes that policy with it.

        Each peer has one edge: a second call for the same peer (or a call for a peer the spec's
        ``allowFrom`` already registered) returns the existing edge. ``peer`` may be an entry of
        the spec's ``allowFrom`` (its tenant is the peer; the ports come from the spec).
        ``peer_namespaces``: every namespace of the peer by name (its Namespace resource, or None
        outside this program), when the peer has extra ``namespaces``; default the args'
        ``peer_namespaces`` entry for it, else its name alone."""
        peer = peer.tenant if isinstance(peer, AllowFrom) else peer
        if self._args.register_allow_from and peer in self._args.tenant.peers:
            warnings.warn(f"TenantBundle {self._name!r}: allow_from({peer!r}) is no longer needed — the bundle "
                          "registers the edges of its spec's allowFrom itself (this call returns that edge)",
                          DeprecationWarning, stacklevel=2)
        return self._register_edge(peer, peer_namespace, opts, peer_namespaces)

    def _register_edge(self, peer: str, peer_namespace: k8s.core.v1.Namespace | None = None,
                       opts: pulumi.ResourceOptions | None = None,
                       peer_namespaces: Mapping[str, k8s.core.v1.Namespace | None] | None = None) -> TenantPeering:
        """The edge from ``peer`` (registered once), without the deprecation warning of
        :meth:`allow_from`: how the bundle registers its spec's own ``allowFrom``."""
        self._pending.discard(peer)
        if peer in self.peerings:
            return self.peerings[peer]
        if peer_namespaces is None and peer in self._args.peer_namespaces:
            peer_namespaces = dict.fromkeys(self._args.peer_namespaces[peer])
        problems = bundle_problems(TenantBundleArgs(
            tenant=self._args.tenant.model_copy(update={"allow_from": [AllowFrom(tenant=peer)]}),
            vpc_cidr=self._args.vpc_cidr,
            known_tenants=self._args.known_tenants))
        if problems:
            raise ValueError("; ".join(problems))
        peering = allow_tenant_traffic(self, peer, peer_namespace, opts, peer_namespaces)
        self.peerings[peer] = peering
        return peering


def _s3_spec(tenant: TenantSpec, ns: str, cidrs: Sequence[str] | None) -> Any:
    """The S3 policy's spec in namespace ``ns`` once the prefix list's ranges are known."""
    return plan.s3_policy(tenant, sorted(cidrs or []), ns)["spec"]


_Registry = tuple[dict[tuple[int, str], "TenantBundle"], dict[tuple[int, str], list["TenantBundle"]]]


def _program_bundles() -> _Registry:
    """The bundles built so far in the running program by (provider, tenant), and the bundles
    waiting for a peer by (provider, peer): kept on the program's root Stack resource, so two
    programs (two test runs) never see each other's. Lookups only: no per-bundle scan."""
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    if root is None:
        return {}, {}
    registry: _Registry | None = getattr(root, "_tenancy_bundles", None)
    if registry is None:
        registry = ({}, {})
        setattr(root, "_tenancy_bundles", registry)  # noqa: B010
    return registry


@dataclass(frozen=True)
class TenantPeeringArgs:
    """Inputs of :class:`TenantPeering`: ``tenant`` allows connections from ``peer``."""

    tenant: str
    """The declaring tenant (the destination of the connections)."""
    peer: str
    """The tenant allowed to open connections into ``tenant``."""
    ports: Sequence[EdgePort] | None = None
    """The ports the peer may reach (``allowFrom[].ports``): both NetworkPolicies (and the Istio
    policy, for single TCP ports) open only those. Default ``None``: every port."""
    mesh: str = "none"
    """``istio`` adds an ALLOW AuthorizationPolicy for the peer. Default ``none``."""
    cluster_network_policies: bool = False
    """Also register the edge's Admin-tier ClusterNetworkPolicy (``tenancy-edge-<tenant>-from-<peer>``,
    :func:`tenancy.plan.cluster_policies.edge_policy`). Default off (as the bundle's)."""
    provider: k8s.Provider | None = None
    """The cluster's Kubernetes provider. Default: inherited from the parent."""
    tenant_namespace: k8s.core.v1.Namespace | None = None
    """The declaring tenant's Namespace resource, when in the same program."""
    peer_namespace: k8s.core.v1.Namespace | None = None
    """The peer's Namespace resource, when in the same program."""
    tenant_namespaces: Sequence[str] = ()
    """Every namespace of the declaring tenant (``naming.tenant_namespaces``). Default: ``tenant``."""
    peer_namespaces: Sequence[str] = ()
    """Every namespace of the peer. Default: ``peer``."""
    namespace_resources: Mapping[str, k8s.core.v1.Namespace | None] = field(default_factory=dict)
    """The Namespace resources of extra namespaces of either side, by name, when in the same
    program: the edge's objects in them wait for them and are deleted with them."""


class TenantPeering(pulumi.ComponentResource):
    """One ``allowFrom`` edge (``tenancy:bundle:TenantPeering``): ingress from the peer's
    namespace in the tenant's namespace, egress to the tenant's namespace in the peer's, and with
    Istio an ALLOW AuthorizationPolicy. Parent it under the declaring tenant, so that adding or
    removing a tenant never touches another tenant's edges."""

    def __init__(self, name: str, args: TenantPeeringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:bundle:TenantPeering", name, None, opts)
        self.resources: dict[str, pulumi.CustomResource] = {}
        for m in plan.edge_manifests(args.tenant, args.peer, args.mesh, args.ports, args.tenant_namespaces,
                                     args.peer_namespaces):
            ns = m["metadata"]["namespace"]
            owner_ns = args.namespace_resources.get(ns) or (
                args.tenant_namespace if ns == args.tenant else args.peer_namespace if ns == args.peer else None)
            child = pulumi.ResourceOptions(
                parent=self, provider=args.provider,
                depends_on=[owner_ns] if owner_ns is not None else None,
                deleted_with=owner_ns)
            key = f"{m['kind']}/{ns}/{m['metadata']['name']}"
            self.resources[key] = register_manifest(f"{name}/{ns}/{m['metadata']['name']}", m, child)
        if args.cluster_network_policies:
            m = cluster_policies.edge_policy(args.tenant, args.peer, args.ports)
            self.resources[f"{m['kind']}/{m['metadata']['name']}"] = register_manifest(
                f"{name}/{m['metadata']['name']}", m, pulumi.ResourceOptions(
                    parent=self, provider=args.provider, deleted_with=args.tenant_namespace))
        self.register_outputs({})


def allow_tenant_traffic(bundle: TenantBundle, peer: str, peer_namespace: k8s.core.v1.Namespace | None = None,
                         opts: pulumi.ResourceOptions | None = None,
                         peer_namespaces: Mapping[str, k8s.core.v1.Namespace | None] | None = None) -> TenantPeering:
    """Register the edge "``bundle``'s tenant allows connections from ``peer``", parented under
    ``bundle`` and named ``<bundle>/allow-from/<peer>``; on the ports of the spec's ``allowFrom``
    entry for ``peer`` (every port for a peer the spec does not list), between every namespace of
    the tenant and every namespace of the peer (``peer_namespaces``; default the peer's name)."""
    args = bundle._args
    edge = args.tenant.edge(peer)
    peers = dict(peer_namespaces or {})
    return TenantPeering(
        f"{bundle._name}/allow-from/{peer}",
        TenantPeeringArgs(tenant=args.tenant.name, peer=peer, ports=edge.ports if edge else None,
                          mesh=args.workloads.mesh, provider=args.provider,
                          cluster_network_policies=args.cluster_network_policies,
                          tenant_namespace=bundle.namespace, peer_namespace=peer_namespace,
                          tenant_namespaces=list(bundle.namespaces), peer_namespaces=list(peers),
                          namespace_resources={**peers, **bundle.namespaces}),
        pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=bundle), opts))
