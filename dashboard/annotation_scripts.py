"""The Annotate page's browser side: its compact styling and the scripts behind the keyboard
(focus reset per item, arrow keys, side and polarity keys). Only our own code and constant key
names go into them."""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from dashboard.annotation_view import NEXT_ARROW, POLARITY_KEYS, PREVIOUS_ARROW, SIDE_KEYS

# Page-local styling: a compact header so an item and its form fit one 1280x800 screen.
PAGE_CSS = """<style>
.stMainBlockContainer { padding-top: 1.5rem; padding-bottom: 1rem; }
.stMainBlockContainer h1 { font-size: 2rem; padding: 0 0 .25rem 0; }
.stMainBlockContainer [data-testid="stVerticalBlock"] { gap: .5rem; }
.st-key-annotate_active_row { box-shadow: -8px 0 0 #f0b429; }  /* the row P/X/B/U and +/- set */
/* compact buttons: a codebook of ten codes and Save fit one 1280x800 screen */
.stMainBlockContainer button { min-height: 2rem; padding-top: 0; padding-bottom: 0; }
</style>"""


# Runs once per new item (the token changes): scroll back to the top and take the focus off
# whatever was last clicked or typed in (a focused button would also take Enter; a focused
# select box would swallow the number keys). Only our code and a hash go into it.
NEW_ITEM_SCRIPT = """<script>/* item {token} */
(() => {{
  const active = document.activeElement;
  if (active && active !== document.body) active.blur();
  const main = document.querySelector('[data-testid="stMain"]');
  if (main) main.scrollTo({{top: 0}});
  window.scrollTo(0, 0);
}})();
</script>"""

# Installed once per browser tab: the arrow keys press Next/Previous (a Streamlit button takes
# one shortcut only, J/K). Like Streamlit's own shortcuts it ignores keys typed into a field
# (a focused radio keeps its arrows) and keys with a modifier.
ARROW_KEYS_SCRIPT = """<script>
(() => {{
  if (window.arenalensArrowKeys) return;
  window.arenalensArrowKeys = true;
  const buttons = {{"{next_arrow}": "annotate_next", "{previous_arrow}": "annotate_previous"}};
  document.addEventListener("keydown", (event) => {{
    const key = buttons[event.key];
    if (!key || event.defaultPrevented || event.repeat) return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const active = document.activeElement;
    if (active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)
                   || active.isContentEditable)) return;
    const button = document.querySelector(`.st-key-${{key}} button`);
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  }});
}})();
</script>"""

# Installed once per browser tab: P/X/B/U choose the side and + / - the polarity of the code
# last switched on (its row is the page's `annotate_active_row`). Only our code and our
# constant key names go into it.
ATTRIBUTE_KEYS_SCRIPT = """<script>
(() => {{
  if (window.arenalensAttributeKeys) return;
  window.arenalensAttributeKeys = true;
  const sides = {sides};
  const polarities = {polarities};
  document.addEventListener("keydown", (event) => {{
    if (event.defaultPrevented || event.repeat || event.altKey || event.ctrlKey || event.metaKey)
      return;
    const active = document.activeElement;
    if (active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)
                   || active.isContentEditable)) return;
    let label = sides[event.key.toUpperCase()], group = 0;
    if (!label) {{ label = polarities[event.key === "=" ? "+" : event.key]; group = 1; }}
    if (!label) return;
    const row = document.querySelector(".st-key-annotate_active_row");
    const groups = row ? Array.from(row.querySelectorAll('[data-testid="stButtonGroup"]'))
      .filter((g) => g.checkVisibility()) : [];
    if (!groups[group]) return;
    const button = Array.from(groups[group].querySelectorAll("button"))
      .find((b) => b.innerText.trim() === label && b.checkVisibility());
    if (!button) return;
    event.preventDefault();
    if (button.getAttribute("aria-checked") !== "true") button.click();  // a click unselects
  }});
}})();
</script>"""


def reset_focus_for(feedback_id: str) -> None:
    """Scroll to the top and clear the keyboard focus when a new item is shown (and make sure
    the arrow keys move between items)."""
    token = hashlib.sha256(feedback_id.encode("utf-8")).hexdigest()[:16]
    arrows = ARROW_KEYS_SCRIPT.format(next_arrow=NEXT_ARROW, previous_arrow=PREVIOUS_ARROW)
    attributes = ATTRIBUTE_KEYS_SCRIPT.format(
        sides=json.dumps(SIDE_KEYS), polarities=json.dumps(POLARITY_KEYS)
    )
    st.html(NEW_ITEM_SCRIPT.format(token=token) + arrows + attributes, unsafe_allow_javascript=True)
