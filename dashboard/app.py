"""arenalens dashboard: one entry file with `st.navigation`, one module per page in views/.

Not `pages/`: Streamlit would run a page URL visited first as a legacy multipage script,
without this navigation.

Started by `arenalens dashboard` (which sets ARENALENS_WORKSPACE / ARENALENS_DB); pages read
the store only through the cached loaders in `dashboard.loaders`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import loaders, prefetch, ui

PAGES_DIR = Path(__file__).resolve().parent / "views"
# A local image: a Material-icon (or emoji) favicon, the page's icon included, is fetched from
# a font CDN by the browser, and the dashboard must make only loopback requests.
FAVICON = str(Path(st.__file__).resolve().parent / "static" / "favicon.png")

# (section, file, title, icon); the first page is the default.
PAGES: list[tuple[str, str, str, str]] = [
    ("Summary", "overview.py", "Overview", ":material/dashboard:"),
    ("Analysts", "use_cases.py", "Use cases", ":material/hub:"),
    ("Analysts", "feedback.py", "Feedback", ":material/feedback:"),
    ("Analysts", "outputs.py", "Outputs", ":material/compare:"),
    ("Annotators", "annotate.py", "Annotate", ":material/edit_note:"),
    ("Annotators", "agreement.py", "Agreement", ":material/handshake:"),
    ("Annotators", "raters.py", "Raters", ":material/how_to_vote:"),
    ("Product", "leaderboard.py", "Leaderboard", ":material/leaderboard:"),
    ("Product", "benchmarks.py", "Benchmarks vs preference", ":material/insights:"),
]


def navigation() -> st.navigation:
    """The sectioned page list."""
    sections: dict[str, list] = {}
    for index, (section, file, title, icon) in enumerate(PAGES):
        page = st.Page(PAGES_DIR / file, title=title, icon=icon, default=index == 0)
        sections.setdefault(section, []).append(page)
    return st.navigation(sections)


def sidebar() -> None:
    """Which workspace is shown, and a button to reload everything from the store."""
    from arenalens.errors import ArenalensError

    try:
        app = loaders.cache.app_context()
        label = loaders.workspace.workspace_label(app)
        loaders.cache.store_version(app)
        prefetch.start_prefetch(app)
    except ArenalensError as exc:
        ui.say("error", "cannot open the workspace: {}", exc)
        st.stop()
    st.sidebar.caption("Workspace")
    st.sidebar.text(label)
    if st.sidebar.button(
        "Reload data", help="Read the store again (caches refresh on their own too)"
    ):
        loaders.cache.invalidate()


def main() -> None:
    st.set_page_config(layout="wide", page_icon=FAVICON)
    page = navigation()
    sidebar()
    page.run()


main()
