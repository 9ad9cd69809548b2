from pathlib import Path

from tenancy.spec.reference import BEGIN, END, reference, splice

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_spec_reference_is_current() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text
    assert splice(text) == text, "README's spec reference is stale: run `python -m tenancy.spec.reference` and splice"


def test_every_field_is_documented() -> None:
    undocumented = [line for line in reference().splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert undocumented == []


def test_readme_shows_the_newcomers_two_commands() -> None:
    text = README.read_text()
    assert "make render" in text and "make test" in text
    for doc in ("docs/network.md", "docs/cluster.md", "docs/identity.md", "docs/bundle.md"):
        assert f"({doc}" in text, f"README does not link {doc}"
        assert (README.parent / doc).is_file()
