"""``tenancy verify``: evidence that a deployed platform is isolated, now.

Reads the render (``tenancy render`` output) and the deployed platform — the cluster through the
caller's kubeconfig, AWS through the caller's credentials — and reports, per check, whether the
platform is what the render says and behaves as isolated:

- drift (:mod:`.kube`, :mod:`.aws`): every isolation-relevant object and AWS resource of the render
  exists with its rendered settings; extras touching a tenant are reported;
- isolation (:mod:`tenancy.review.facts`): the live platform read into the same isolation model as the
  render, and compared with it by :func:`tenancy.review.diff.isolation_changes` (anything *looser* fails);
- behaviour: as each tenant persona (access reviews, dry-run creates), and on AWS (workload roles'
  S3 reach, node group taints, security group reachability).

- values only the cloud knows (:mod:`.resolve`): the render's mock account, key, security-group and
  role ids in in-cluster objects are resolved through AWS or the stack's outputs before they are
  compared, or reported "not verified";
- what the VPC CNI's policy agent was told (:mod:`.endpoints`): PolicyEndpoints against each policy.

Pure checks live in :mod:`.kube`, :mod:`.aws`, :mod:`.resolve` and :mod:`.endpoints`; I/O in
:mod:`.clients`; the run in :mod:`.run`; the evidence report in :mod:`.report`. Read-only, except
server-side dry runs and access reviews.
"""

from tenancy.verify.report import Report, Result
from tenancy.verify.run import verify

__all__ = ["Report", "Result", "verify"]
