"""User text never reaches Streamlit's markdown unescaped: one escaping place (dashboard.ui)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dashboard import ui

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
# Streamlit calls whose first argument (the body or the label) is rendered as markdown.
MARKDOWN_CALLS = {
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
    "toast",
    "title",
    "header",
    "subheader",
    "write",
    "metric",
    "expander",
    "checkbox",
    "toggle",
    "radio",
    "button",
    "download_button",
    "selectbox",
    "multiselect",
    "text_input",
    "text_area",
    "number_input",
    "slider",
    "form_submit_button",
    "popover",
}
SAFE_BUILDERS = {"fmt", "safe"}  # dashboard.ui's escaping helpers


def _is_safe(node: ast.expr) -> bool:
    """A string literal written by us, or the result of ui.fmt / ui.safe."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.Call):
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        return name in SAFE_BUILDERS
    return False


def unsafe_markdown_calls(source: str) -> list[str]:
    """Calls like st.caption(f"...{x}") or st.warning(text) whose text is not made safe."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in MARKDOWN_CALLS:
            continue
        texts = node.args[:1] + [
            k.value for k in node.keywords if k.arg in ("label", "body", "help")
        ]
        for text in texts:
            if not _is_safe(text):
                found.append(f"line {node.lineno}: .{node.func.attr}({ast.unparse(text)[:60]})")
    return found


def dashboard_modules() -> list[Path]:
    return sorted(p for p in DASHBOARD.rglob("*.py") if p.name != "ui.py")


@pytest.mark.parametrize("module", dashboard_modules(), ids=lambda p: p.name)
def test_pages_hand_streamlit_markdown_only_literals_or_escaped_text(module: Path):
    assert unsafe_markdown_calls(module.read_text(encoding="utf-8")) == []


def test_the_static_check_catches_an_unescaped_model_name():
    assert unsafe_markdown_calls('st.warning(f"model {name} has few votes")')
    assert unsafe_markdown_calls("st.caption(run_summary)")
    assert not unsafe_markdown_calls('ui.show("warning", text)')
    assert not unsafe_markdown_calls('st.caption(ui.fmt("model {}", name))')


def test_fmt_escapes_values_but_keeps_the_template():
    out = ui.fmt("**Model** {} in `arenalens rank`", "![x](http://127.0.0.1:9/p.png)")
    assert out.startswith("**Model** ") and out.endswith(" in `arenalens rank`")
    assert "![x](" not in out and "\\]" in out
    assert isinstance(out, ui.Markdown)


def test_safe_escapes_plain_strings_once():
    payload = "<img src=http://127.0.0.1:9/x.png> [l](http://e)"
    once = ui.safe(payload)
    assert ui.safe(once) == once  # already safe text is not escaped twice
    assert "\\<img" in once and "[l](" not in once  # shown, not parsed


HOSTILE_TEXTS = [
    "![x](http://127.0.0.1:9/p.png)",
    "<img src=http://127.0.0.1:9/p.png> <script>alert(1)</script>",
    "[click](http://127.0.0.1:9/) and <http://127.0.0.1:9/auto>",
    "**bold** _it_ __init__ ~~gone~~ `code` $x^2$",
    "# heading\n- item\n1. first\n> quote\n---",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "a\\*b \\ end\\",
    "too_long Text-primary 12.5% (95% CI 10–15)",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_escaped_text_renders_as_exactly_itself(text):
    """Rendered by a CommonMark renderer (with GFM tables and strikethrough), escaped text is
    one paragraph of plain text equal to the input: no element, nothing lost."""
    import html
    import re

    from markdown_it import MarkdownIt

    rendered = (
        MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(ui.escape_markdown(text))
    )
    tags = set(re.findall(r"</?([a-z0-9]+)", rendered))
    assert tags <= {"p", "br"}, rendered
    plain = html.unescape(re.sub(r"</?(p|br)\s*/?>", "", rendered)).strip()
    assert plain.split() == text.split()
