"""Every relative link in README.md and docs/*.md points at a file that exists, and every
`#anchor` at a heading of its target (GitHub's slugs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file (a repeated slug gets -1, -2, …)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in _prose(path.read_text()):
        m = re.match(r"#{1,6} (.+)", line)
        if not m:
            continue
        slug = _slug(m.group(1))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(path: Path) -> list[str]:
    broken = []
    for line in _prose(path.read_text()):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                broken.append(f"{path.name}: {target} (no {file})")
            elif anchor and (dest.is_dir() or dest.suffix != ".md" or anchor not in anchors(dest)):
                broken.append(f"{path.name}: {target} (no heading #{anchor})")
    return broken


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(path: Path) -> None:
    assert broken_links(path) == []


def test_readme_links_every_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [p.name for p in DOCS[1:] if f"(docs/{p.name})" not in readme]
    assert missing == []


def test_a_broken_link_or_anchor_is_caught(tmp_path: Path) -> None:
    """Negative control: the checker notices a missing file, a missing anchor, and accepts good ones."""
    (tmp_path / "other.md").write_text("# Other page\n\n## Deploy-time notes (`x`)\n\n## Deploy-time notes (`x`)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## A section: with punctuation\n\n"
        "[ok](other.md) [ok](other.md#deploy-time-notes-x) [ok](other.md#deploy-time-notes-x-1)\n"
        "[ok](#a-section-with-punctuation) [ok](https://example.com/nowhere)\n"
        "[bad](missing.md) [bad](other.md#nowhere) [bad](#no-such-section)\n"
        "```\n[in code](not-checked.md)\n```\n")
    assert broken_links(page) == [
        "page.md: missing.md (no missing.md)",
        "page.md: other.md#nowhere (no heading #nowhere)",
        "page.md: #no-such-section (no heading #no-such-section)",
    ]
