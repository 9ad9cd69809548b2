"""Load the platform object as tenancy/program.py does (``Config("tenancy").require_object``), and
export each tenant's booleans and pods quota with their Python types, or the spec's refusal."""

import pulumi

from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError

data = pulumi.Config("tenancy").require_object("platform")
raw = data["tenants"][0]
pulumi.export("rawInternetEgress", f"{type(raw.get('internetEgress')).__name__}:{raw.get('internetEgress')!r}")
try:
    spec = load_platform(data)
except SpecError as exc:
    raise pulumi.RunError(str(exc)) from None
t = spec.tenants[0]
pulumi.export("internetEgress", t.internet_egress)
pulumi.export("pods", t.quota.pods)
