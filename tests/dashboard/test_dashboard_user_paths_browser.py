"""Each user's path in real Chromium, on a SQLite and on a PostgreSQL workspace: the demo
workspace (sample arena, every stage's demo step) built once per backend and served by
`arenalens dashboard` once per backend for this module.

- product: read each category's leader off the Leaderboard's who-wins-where matrix;
- analyst: drill from a category to one cluster's queries (and download them), then compare
  two clusters (win shares and loss-reason shares, each with its CI);
- layout: every page at 1280x800 and 1440x900 with no exception and no chart or table wider
  than its container, only loopback traffic, and a screenshot of every page kept in the test
  artefacts (screens/BACKEND/PAGE-WIDTH.png; Outputs shows a Chinese query).

The annotator's path (20 keyboard-only items, one adjudication) is in
test_dashboard_annotate_browser.py; hostile text in test_dashboard_browser.py.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow

TIMEOUT_MS = 120_000
VIEWPORTS = [(1280, 800), (1440, 900)]
CJK_QUERY = "你好"  # the sample arena holds Chinese chit-chat ("你好！挺好的，谢谢你问。")


@dataclass
class Served:
    """A demo workspace on one backend and the dashboard serving it."""

    backend: str
    workspace: Path
    db: str | None
    port: int


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, check, artefacts: Path) -> Iterator[Served]:
    if request.param == "sqlite":
        workspace, db = request.getfixturevalue("demo_workspace"), None
    else:
        workspace, db = request.getfixturevalue("postgres_demo")
    port = check.free_port()
    log = artefacts / "screens" / request.param / "dashboard.log"
    process = check.start_dashboard(workspace, port, log, db=db)
    yield Served(request.param, workspace, db, port)
    check.stop(process)


@pytest.fixture(scope="module")
def store_app(served: Served) -> Iterator[AppContext]:
    """The served workspace's store, read beside the dashboard (what the pages must show)."""
    app = AppContext(Settings(workspace=served.workspace, db=served.db, labeler="embedding"))
    yield app
    app.store.engine.dispose()


@contextmanager
def browser_page(check, viewport: tuple[int, int] = (1280, 800)) -> Iterator:
    """A chromium page whose requests must all stay on loopback (checked on the way out)."""
    from playwright.sync_api import sync_playwright

    network = check.NetworkLog()
    with sync_playwright() as playwright:
        browser, context = check.open_browser(playwright, viewport, network)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        yield page
        browser.close()
    assert network.outside() == [], "the dashboard made the browser leave the machine"


def open_page(check, page, port: int, path: str, heading: str) -> None:
    page.goto(f"http://127.0.0.1:{port}/{path}", timeout=TIMEOUT_MS)
    check.wait_for_run(page, heading, TIMEOUT_MS)


def settle(page) -> None:
    """Wait for the rerun a widget started (the status widget comes and goes)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=TIMEOUT_MS,
    )


def choose(page, label: str, option: str) -> None:
    """In the select box labelled `label`, type `option` (typing filters Streamlit's long,
    virtualised option lists), take the first match with Enter and check it was `option`."""
    box = (
        page.locator('[data-testid="stSelectbox"]')
        .filter(has=page.get_by_text(label, exact=True))
        # the page's own, not the edit form's of the same name, hidden in its expander (under
        # load the page's may not be drawn yet: wait for it rather than take the hidden one)
        .filter(visible=True)
        .first
    )
    box.locator("input").first.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).first.wait_for()
    page.keyboard.press("Enter")
    settle(page)
    for _attempt in range(50):  # the box shows the choice once the rerun has drawn it
        shown = box.locator("input").first.input_value() or box.inner_text()
        if shown == option:
            break
        page.wait_for_timeout(200)
    assert shown == option, f"{label}: {shown!r} instead of {option!r}"
    settle(page)


def download(page, file_name: str) -> pd.DataFrame:
    """Click the download button that saves `file_name`; the CSV as the browser received it."""
    key = re.sub(r"[^a-zA-Z0-9_-]", "-", f"download|{file_name}")  # Streamlit's key class
    button = page.locator(f".st-key-{key} button")
    with page.expect_download(timeout=TIMEOUT_MS) as event:
        button.click()
    assert event.value.suggested_filename == file_name
    return pd.read_csv(io.BytesIO(Path(event.value.path()).read_bytes()))


# what Vega tells assistive technology about every drawn mark ("field: value; ...")
MARK_LABELS_JS = """(kind) => Array.from(document.querySelectorAll(
    `[data-testid="stVegaLiteChart"] [aria-roledescription="${kind}"]`))
  .map(e => e.getAttribute('aria-label') || '')"""


def mark_fields(page, kind: str) -> list[dict[str, str]]:
    """Every drawn mark of `kind` ("rect mark", "point", ...) as its field -> value pairs."""
    fields = []
    for label in page.evaluate(MARK_LABELS_JS, kind):
        pairs = [part.split(": ", 1) for part in label.split("; ") if ": " in part]
        fields.append(dict(pairs))
    return fields


# -- product: who wins where --------------------------------------------------------------
def test_product_reads_each_categorys_leader(check, served, store_app):
    from ranking.persist import ratings_frame
    from ranking.slices import MIN_CELL_VOTES

    runs = store_app.store.runs_frame()
    sliced = runs[
        (runs["stage"] == "ranking")
        & (runs["status"] == "done")
        & runs["config"].map(lambda c: (c or {}).get("by") == "category")
    ]
    stored = ratings_frame(store_app.store, int(sliced["id"].max()), "category")
    enough = stored[stored["votes"] >= MIN_CELL_VOTES]
    from arenalens.display import display_name

    expected = {
        display_name(category): str(group.loc[group["rating"].idxmax(), "model"])
        for category, group in enough.groupby("slice_value")
    }
    assert len(expected) >= 3  # the demo ranks several categories

    with browser_page(check) as page:
        open_page(check, page, served.port, "leaderboard", "Leaderboard")
        # the answer first: the matrix is the first thing under the page title
        heading = page.get_by_role("heading", name="Who wins where")
        assert heading.bounding_box()["y"] < 400
        check.wait_for_charts(page, TIMEOUT_MS)
        cells = [c for c in mark_fields(page, "rect mark") if "role" in c and "category" in c]

    leaders = {c["category"]: c["model"] for c in cells if c["role"] == "leader"}
    assert leaders == expected
    greyed = {(c["category"], c["model"]) for c in cells if c["role"] == "too few votes"}
    too_few = stored[stored["votes"] < MIN_CELL_VOTES]
    assert greyed == {
        (display_name(c), m) for c, m in zip(too_few["slice_value"], too_few["model"], strict=True)
    }


# -- analyst: category -> cluster -> queries, then two clusters side by side --------------
@pytest.fixture(scope="module")
def clusters_in_view(store_app) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """(run id, the clusters of the largest category, largest first, with `shown`: whether
    the privacy rule lets their queries be shown; every query with its cluster, vote, user)."""
    from taxonomy.persist import cluster_table, latest_run_id, query_assignment_table

    store = store_app.store
    run_id = latest_run_id(store)
    table = cluster_table(store, run_id, level=0)
    votes = store.interactions_frame(["id", "user_id", "model_a", "model_b", "winner"])
    queries = query_assignment_table(store, run_id).merge(
        votes, left_on="interaction_id", right_on="id"
    )
    users = queries.groupby("cluster_id")["user_id"].nunique()
    real = table[table["cluster_id"] >= 0].assign(
        shown=lambda f: f["cluster_id"].map(users) >= int(store_app.settings.privacy_min_users)
    )
    category = real.groupby("category")["size"].sum().idxmax()
    in_category = real[real["category"] == category].sort_values("size", ascending=False)
    assert in_category["shown"].sum() >= 2
    return run_id, in_category, queries


def cluster_option(cluster: pd.Series) -> str:
    """How the cluster pickers name a cluster: 'id: name (size)'."""
    return f"{int(cluster['cluster_id'])}: {cluster['name']} ({int(cluster['size'])})"


def test_analyst_drills_from_a_category_to_a_clusters_queries(check, served, clusters_in_view):
    run_id, in_category, queries = clusters_in_view
    cluster = in_category[in_category["shown"]].iloc[1]  # not the one the page opens first
    cluster_id = int(cluster["cluster_id"])
    expected_ids = set(queries.loc[queries["cluster_id"] == cluster_id, "interaction_id"])
    from arenalens.display import display_name

    category = display_name(cluster["category"])
    category_size = int(in_category["size"].sum())

    with browser_page(check) as page:
        open_page(check, page, served.port, "use_cases", "Use cases")
        choose(page, "Category", f"{category} ({category_size:,} queries)")
        picker = page.locator('[data-testid="stSelectbox"]').filter(
            has=page.get_by_text("Cluster (or click a point on the map)", exact=True)
        )
        expected = {cluster_option(c) for _, c in in_category.iterrows()}
        for _attempt in range(20):  # under load the rerun the category started may lag
            picker.locator("input").first.click()
            page.keyboard.press("ArrowDown")  # opens the list
            page.get_by_role("option").first.wait_for()
            listed = page.get_by_role("option").all_inner_texts()
            page.keyboard.press("Escape")
            if set(listed) <= expected:
                break
            page.wait_for_timeout(1000)
            settle(page)
        choose(page, "Cluster (or click a point on the map)", cluster_option(cluster))
        page.get_by_role("heading", name=f"Cluster {cluster_id}: {cluster['name']}").wait_for()
        page.get_by_text(f"{len(expected_ids):,} queries match").wait_for()
        saved = download(page, f"taxonomy-run{run_id}-cluster{cluster_id}-queries.csv")

    # the category narrows the cluster picker to that category's clusters, largest first
    # (the list draws the options in view only: those are the category's largest)
    assert len(listed) >= min(8, len(in_category))
    assert set(listed) <= expected
    sizes = [int(re.search(r"\((\d+)\)$", option).group(1)) for option in listed]
    assert sizes == list(in_category["size"].head(len(listed)))
    assert set(saved["interaction_id"]) == expected_ids
    assert saved["query"].notna().all()


def test_analyst_compares_two_clusters_with_intervals(check, served, clusters_in_view):
    run_id, in_category, queries = clusters_in_view
    first, second = in_category.iloc[0], in_category.iloc[1]
    a, b = int(first["cluster_id"]), int(second["cluster_id"])

    with browser_page(check) as page:
        open_page(check, page, served.port, "use_cases", "Use cases")
        page.get_by_role("heading", name="Compare two clusters").scroll_into_view_if_needed()
        choose(page, "Cluster A", cluster_option(first))
        choose(page, "Cluster B", cluster_option(second))
        page.get_by_text(f"A · {first['name']}", exact=True).wait_for()
        page.get_by_text(f"B · {second['name']}", exact=True).wait_for()
        check.expand_to_content(page, (1280, 800), TIMEOUT_MS)  # charts draw once on screen
        points = mark_fields(page, "point")
        reasons = download(page, f"taxonomy-run{run_id}-clusters-{a}-{b}-loss-reasons.csv")

    # win shares: one point per model and cluster, counting that cluster's voted battles
    wins = [p for p in points if "model" in p and p.get("cluster", "")[:4] in ("A · ", "B · ")]
    for side, cluster_id in (("A", a), ("B", b)):
        mine = queries[(queries["cluster_id"] == cluster_id) & queries["winner"].notna()]
        battles = pd.concat([mine["model_a"], mine["model_b"]]).value_counts()
        drawn = {
            p["model"]: int(p["battles"]) for p in wins if p["cluster"].startswith(f"{side} · ")
        }
        assert drawn == battles.to_dict()
    # loss reasons: every code's share in both clusters, drawn and inside its own 95% interval
    from arenalens.display import display_name

    drawn_reasons = {(p["loss reason"], p["cluster"][:1]) for p in points if "loss reason" in p}
    assert drawn_reasons == set(
        zip(reasons["code"].map(display_name), reasons["cluster"].str[:1], strict=True)
    )
    assert set(reasons["cluster"].str[:1]) == {"A", "B"}
    assert (reasons["ci_low"] <= reasons["share"]).all()
    assert (reasons["share"] <= reasons["ci_high"]).all()
    assert (reasons["ci_high"] - reasons["ci_low"] > 0).all()  # a CI, not a bare share


# the cluster list's cells: header, text and whether the text overflows its cell
CLUSTER_CELLS_JS = """() => {
  const table = Array.from(document.querySelectorAll('[data-testid="stTable"] table'))
    .find(t => Array.from(t.querySelectorAll('th')).some(th => th.innerText.trim() === 'parent'));
  if (!table) return null;
  const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.innerText.trim());
  return Array.from(table.querySelectorAll('tbody tr')).flatMap(tr =>
    Array.from(tr.querySelectorAll('td')).map((td, i) => ({
      column: heads[i], text: td.innerText.trim(), cut: td.scrollWidth > td.clientWidth + 1})));
}"""


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_use_cases_lists_every_cluster_name_and_parent_whole(check, served, store_app, viewport):
    """The cluster list showed ~8 characters of each parent: every name and parent is now in
    its cell whole (the cell text is the stored name, and nothing overflows the cell)."""
    from taxonomy.persist import cluster_table, latest_run_id

    run_id = latest_run_id(store_app.store)
    clusters = cluster_table(store_app.store, run_id, level=0)
    clusters = clusters[clusters["cluster_id"] >= 0]
    with browser_page(check, viewport) as page:
        open_page(check, page, served.port, "use_cases", "Use cases")
        check.expand_to_content(page, viewport, TIMEOUT_MS)
        cells = page.evaluate(CLUSTER_CELLS_JS)
    assert cells, "no cluster list on Use cases"
    assert [c for c in cells if c["cut"]] == []
    shown = {c["column"]: set() for c in cells}
    for cell in cells:
        shown[cell["column"]].add(cell["text"])
    assert shown["parent"] - {"—"} == set(clusters["parent_name"].dropna().astype(str))
    assert shown["name"] == set(clusters["name"].astype(str))


# -- layout: every page, both window sizes ------------------------------------------------
def _search_cjk(page) -> None:
    box = page.get_by_label("Search query text or id")
    box.fill(CJK_QUERY)
    box.press("Enter")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_every_page_fits_the_window(check, served, artefacts, viewport):
    screens = artefacts / "screens" / served.backend
    network = check.NetworkLog()
    results = check.check_pages(
        served.port, screens, viewport=viewport, network=network, actions={"outputs": _search_cjk}
    )
    assert [r.path for r in results] == list(check.PAGES)
    for result in results:
        title, heading = check.PAGES[result.path]
        assert result.title.startswith(title), result
        assert result.heading == heading, result
        assert not result.errors, result
        assert result.overflow == [], result
        assert result.clipped == [], result  # no table cell, metric or label cut off
        assert result.screenshot.name == f"{result.path or 'overview'}-{viewport[0]}.png"
        assert result.screenshot.stat().st_size > 10_000  # a rendered page, not a blank one
    assert network.outside() == [], "the dashboard made the browser leave the machine"
