from pathlib import Path

from tenancy.spec.reference import BEGIN, END, reference, splice

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "reference.md"


def test_docs_spec_reference_is_current() -> None:
    text = REFERENCE.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert splice(text) == text, "docs/reference.md's spec reference is stale: run `make reference`"


def test_the_generated_reference_lives_only_in_docs() -> None:
    assert BEGIN not in README.read_text(), "the spec reference moved to docs/reference.md"
    assert "(docs/reference.md" in README.read_text()


def test_a_stale_reference_is_noticed() -> None:
    """Negative control: splice() rewrites a reference that differs from the models'."""
    text = REFERENCE.read_text()
    stale = text.replace("| `vpcCidr` |", "| `vpcCidrs` |", 1)
    assert stale != text and splice(stale) == text


def test_every_field_is_documented() -> None:
    undocumented = [line for line in reference().splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert undocumented == []


def test_readme_shows_the_newcomers_two_commands() -> None:
    text = README.read_text()
    assert "make render" in text and "make test" in text
    for doc in ("docs/network.md", "docs/cluster.md", "docs/identity.md", "docs/bundle.md"):
        assert f"({doc}" in text, f"README does not link {doc}"
        assert (README.parent / doc).is_file()
