#!/usr/bin/env python3
"""Post FILE as ONE merge-request comment, updated in place on every run (never duplicated).

    .ci/post_comment.py github FILE     # GITHUB_TOKEN, GITHUB_REPOSITORY, PR_NUMBER, GITHUB_API_URL
    .ci/post_comment.py gitlab FILE     # GITLAB_REVIEW_TOKEN, CI_API_V4_URL, CI_PROJECT_ID,
                                        # CI_MERGE_REQUEST_IID

The comment is found by the marker on FILE's first line (``<!-- tenancy-review -->``): the
first existing comment holding it is updated, otherwise one is created. Standard library only.
GitHub: REST "issue comments" (a pull request is an issue); GitLab: "merge request notes"
(a project access token with the ``api`` scope: CI_JOB_TOKEN cannot write notes).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

MARKER = "<!-- tenancy-review -->"
LIMIT = 60000
"""GitHub refuses comments over 65,536 characters (GitLab notes over 1,000,000): cut before."""


def _request(method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={**headers, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - API URLs from the CI environment
        return json.loads(resp.read() or b"null")


def _pages(url: str, headers: dict[str, str]) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        sep = "&" if "?" in url else "?"
        items = _request("GET", f"{url}{sep}per_page=100&page={page}", headers)
        if not items:
            return
        yield from items
        if len(items) < 100:
            return
        page += 1


REQUIRED = {
    "github": ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "PR_NUMBER"),
    "gitlab": ("CI_API_V4_URL", "GITLAB_REVIEW_TOKEN", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID"),
}
"""What each forge's pipeline must provide (the workflow files set them; GitLab's token is a masked
project variable)."""


class MissingVariables(ValueError):
    """The pipeline did not provide what the forge needs (exit 2 with the names, not a traceback)."""


def post(forge: str, text: str, env: dict[str, str]) -> tuple[str, Any]:
    """Create or update the comment; returns ("created"|"updated", its id)."""
    if forge not in REQUIRED:
        raise SystemExit(f"unknown forge {forge!r}: use github or gitlab")
    missing = [v for v in REQUIRED[forge] if not env.get(v)]
    if missing:
        raise MissingVariables(f"post_comment.py {forge}: set {', '.join(missing)} (the merge-request pipeline "
                               f"provides them; see the comment at the top of this file)")
    if MARKER not in text:
        text = f"{MARKER}\n{text}"
    if len(text) > LIMIT:
        text = text[:LIMIT] + "\n\n… (cut: the full report is in the job's artifacts)\n"
    if forge == "github":
        api = env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        headers = {"Authorization": f"Bearer {env['GITHUB_TOKEN']}", "Accept": "application/vnd.github+json"}
        base = f"{api}/repos/{env['GITHUB_REPOSITORY']}/issues"
        listing, key = f"{base}/{env['PR_NUMBER']}/comments", "body"
        for c in _pages(listing, headers):
            if MARKER in (c.get(key) or ""):
                _request("PATCH", f"{base}/comments/{c['id']}", headers, {key: text})
                return "updated", c["id"]
        made = _request("POST", listing, headers, {key: text})
        return "created", made["id"]
    if forge == "gitlab":
        api = env["CI_API_V4_URL"].rstrip("/")
        headers = {"PRIVATE-TOKEN": env["GITLAB_REVIEW_TOKEN"]}
        listing = f"{api}/projects/{env['CI_PROJECT_ID']}/merge_requests/{env['CI_MERGE_REQUEST_IID']}/notes"
        for n in _pages(listing + "?sort=asc", headers):
            if MARKER in (n.get("body") or ""):
                _request("PUT", f"{listing}/{n['id']}", headers, {"body": text})
                return "updated", n["id"]
        made = _request("POST", listing, headers, {"body": text})
        return "created", made["id"]
    raise SystemExit(f"unknown forge {forge!r}: use github or gitlab")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    forge, path = argv[1], argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        action, ident = post(forge, text, dict(os.environ))
    except MissingVariables as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{action} comment {ident}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
