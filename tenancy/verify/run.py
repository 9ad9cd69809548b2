"""One ``tenancy verify`` run: the checks in order, into one :class:`~.report.Report`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tenancy.review.diff import Render, isolation_changes
from tenancy.review.facts import facts_of
from tenancy.verify import aws as aws_checks
from tenancy.verify import endpoints, resolve
from tenancy.verify import kube as kube_checks
from tenancy.verify import queries as query_checks
from tenancy.verify.report import Report, Result, failed, passed, skipped

ISOLATION = "isolation"
LAYERS = ("network", "iam", "rbac", "placement", "admission", "logs")


def isolation(render_resources: Sequence[Mapping[str, Any]], live_resources: Sequence[Mapping[str, Any]],
              layers: Sequence[str] = LAYERS) -> list[Result]:
    """The render's isolation facts against the live platform's: every way the live platform is
    looser fails, naming the layer, the tenant and the peer."""
    changes = isolation_changes(facts_of(render_resources), facts_of(live_resources))
    out = [failed(ISOLATION, c["tenant"], f"{c['layer']}" + (f" (peer {c['peer']})" if c["peer"] else ""),
                  c["detail"])
           for c in changes if c["change"] == "loosened" and c["layer"] in layers]
    bad = {r.object.split(" ")[0] for r in out}
    out += [passed(ISOLATION, None, layer, "no looser than the render") for layer in layers if layer not in bad]
    return out


def verify(render: Render, *, kube: kube_checks.KubeReader | None = None, aws: aws_checks.AwsReader | None = None,
           prober: aws_checks.S3Prober | None = None, identity: Mapping[str, str] | None = None,
           resolution: resolve.Resolution | None = None,
           queries: query_checks.QueryRunner | None = None) -> Report:
    """Run every check that the given clients allow (``kube=None``/``aws=None`` skip a layer;
    ``queries=None`` skips running the saved Logs Insights queries).

    ``resolution``: real values of the render's mock ones from the stack's outputs
    (:func:`tenancy.verify.resolve.from_stack_outputs`); with ``aws``, AWS resolves them too (and wins)."""
    resources = render.resources
    tenants = kube_checks.tenants_of(resources)
    report = Report(render={"path": str(render.path), "project": render.project, "stack": render.stack,
                            "tenants": tenants}, identity=dict(identity or {}))
    live: list[dict[str, Any]] = [dict(r) for r in resources]
    layers: list[str] = []
    resolver = getattr(aws, "resolve", None)
    if kube is not None and resolver is not None:
        found = resolver(resolve.needed(resources))
        resolution = resolution.merged(found) if resolution else found
    if kube is not None:
        state = kube_checks.read_live(kube, resources)
        self_service = kube_checks.self_service_tenants(resources)
        state, cloud_values = resolve.resolve_live(state, resources, resolution or resolve.Resolution())
        report.add(kube_checks.drift(state, self_service, kube_checks.tenant_namespaces(resources)))
        report.add(cloud_values)
        report.add(endpoints.check(kube, state, kube_checks.tenant_namespaces(resources)))
        live = kube_checks.replace_kubernetes(live, kube_checks.live_resources(state))
        report.add(kube_checks.rbac_behaviour(kube, tenants, kube_checks.namespaces_by_tenant(resources),
                                              self_service))
        report.add(kube_checks.admission_behaviour(kube, resources, tenants))
        report.add(kube_checks.max_pods_behaviour(kube))
        # placement too: pooled tenants' pool (namespace label) and pod security groups
        # (SecurityGroupPolicy) are Kubernetes objects; node groups stay the render's without AWS.
        layers += ["network", "rbac", "admission", "placement"]
    if aws is not None:
        aws_state = aws.read(resources)
        report.add(aws_checks.drift(resources, aws_state))
        live = aws_checks.live_resources(live, aws_state)
        layers += ["network", "iam", "placement", "logs"]  # logs: the live log roles' documents
        render_facts, live_facts = facts_of(resources), facts_of(live)
        report.add(aws_checks.placement_behaviour(render_facts, live_facts))
        report.add(aws_checks.network_behaviour(render_facts, live_facts))
        if prober is not None:
            report.add(aws_checks.s3_behaviour(render_facts, aws_state, prober))
        if kube is not None:  # the live policies' ranges; the render's are the mock engine's
            report.add(aws_checks.s3_ranges(live, aws_state))
        elif aws_checks.s3_policy_ranges(resources):
            report.add([skipped(aws_checks.S3_RANGES, None, "tenancy-allow-s3 NetworkPolicies",
                                "needs the cluster (the render's S3 ranges are the mock engine's)")])
    if kube is not None and aws is None:
        policies = aws_checks.s3_policy_ranges(live)
        if resolution is not None and resolution.s3_cidrs is not None:
            report.add(resolve.s3_ranges_against_outputs(policies, resolution.s3_cidrs, aws_checks.S3_RANGES,
                                                         " and ".join(resolution.sources)))
        else:
            report.add(resolve.s3_ranges_not_verified(policies, aws_checks.S3_RANGES))
    if layers:
        report.add(isolation(resources, live, [x for x in LAYERS if x in layers]))
    report.add(query_checks.saved_queries(resources, queries))
    return report
