from pathlib import Path

from tenancy.reference import BEGIN, END, reference, splice

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_spec_reference_is_current() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text
    assert splice(text) == text, "README's spec reference is stale: run `python -m tenancy.reference` and splice"


def test_every_field_is_documented() -> None:
    undocumented = [line for line in reference().splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert undocumented == []
