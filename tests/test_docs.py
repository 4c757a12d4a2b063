"""The docs site builds offline (tools/build_docs.py) and every page renders in headless Chromium with
its headings, sidebar, theme and plots (tools/browser_check.py says exactly what is checked).

Without Chromium the browser tests are skipped, except in CI (`CI=true`), where they fail.
Screenshots are kept in $SER_DOCS_SHOTS (default `_proc/browser_check/`).
"""
import os, subprocess, sys
from pathlib import Path

import pytest

from conftest import NBS, ROOT, in_ci, notebooks

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("docs")

PAGES = ["index.html"] + [nb.relative_to(NBS).with_suffix(".html").as_posix() for nb in notebooks()
                          if nb.relative_to(NBS).as_posix() != "index.ipynb"]
SHOTS = Path(os.environ.get("SER_DOCS_SHOTS") or ROOT / "_proc" / "browser_check")


@pytest.fixture(scope="module")
def build() -> dict:
    "Build the site into _docs/ once for this module; the outcome, which test_build_docs reports in full."
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py")], cwd=ROOT, capture_output=True, text=True,
                       timeout=900, stdin=subprocess.DEVNULL, env={k: v for k, v in os.environ.items() if k != "IN_TEST"})
    if r.returncode == 0: print(r.stdout[-3000:], r.stderr[-3000:])
    err = None if r.returncode == 0 else f"tools/build_docs.py failed (exit {r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}"
    return {"docs": ROOT / "_docs", "error": err}


@pytest.fixture(scope="module")
def docs(build) -> Path:
    "The built site; the tests that need it fail in one line when the build failed."
    if build["error"]: pytest.fail("the docs build failed: see test_build_docs", pytrace=False)
    return build["docs"]


@pytest.fixture(scope="module")
def browser(docs) -> dict[str, list[str]]:
    "Run the browser check over the whole site once; the problems of each page."
    from browser_check import check_site, find_chromium
    if not find_chromium():
        msg = "chromium is not installed (apt-get install -y --no-install-recommends chromium)"
        if in_ci(): pytest.fail(f"CI=true: {msg}; the browser check must run in CI", pytrace=False)
        pytest.skip(msg)
    lines = []
    res = check_site(docs, NBS, ROOT / "_proc", SHOTS, say=lines.append)
    print("\n".join(lines), f"\nscreenshots in {SHOTS}")
    return res


def test_build_docs(build):
    "tools/build_docs.py succeeds and writes an index, a search index, and the theme."
    if build["error"]: pytest.fail(build["error"], pytrace=False)
    docs = build["docs"]
    for f in ("index.html", "search.json", "site_libs/themes/cosmo.min.css", "styles.css"):
        assert (docs / f).is_file(), f"_docs/{f} is missing"


@pytest.mark.parametrize("page", PAGES)
def test_page_built(docs, page):
    "Every notebook has its page, named after the notebook file."
    f = docs / page
    assert f.is_file(), f"_docs/{page} was not built"
    assert "<h1" in f.read_text(encoding="utf-8"), f"_docs/{page} has no <h1> title"


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(browser, page):
    "The page renders in Chromium: no errors, theme, title, headings, sidebar, plots and players, layout at 1280 and 390 px (see tools/browser_check.py)."
    assert page in browser, f"{page} was not checked"
    probs = browser[page]
    assert not probs, f"{page} (screenshots in {SHOTS}):\n- " + "\n- ".join(probs)


def test_search_in_browser(browser):
    "The search box finds a notebook's page from its title, and the page of an exported function from its name."
    if "search" not in browser: pytest.skip("no notebook page besides the index to search for")
    assert not browser["search"], "\n".join(browser["search"])
    assert not browser["search by name"], "\n".join(browser["search by name"])


def test_sidebar_in_book_order(root):
    "The sidebar lists the index, then the chapters in book order (each uses only the ones before it), then the glossary."
    from browser_check import sidebar_pages
    chapters = sorted(p.with_suffix(".html").name for p in NBS.glob("[0-9]*.ipynb"))
    assert sidebar_pages(NBS) == ["index.html", *chapters, "glossary.html"]


def test_links_between_pages_reach_their_anchors(docs):
    "Every link from one page of the site to a section of another (`page.html#anchor`) lands on an element with that id."
    import re
    ids = {p.name: set(re.findall(r'\bid="([^"]+)"', p.read_text(encoding="utf-8"))) for p in docs.glob("*.html")}
    missing = [f"{src}: {page}#{anchor}" for src in sorted(ids)
               for page, anchor in re.findall(r'href="([\w.-]+\.html)#([^"]+)"', (docs / src).read_text(encoding="utf-8"))
               if page in ids and anchor not in ids[page]]
    assert not missing, f"{len(missing)} link(s) to a missing anchor:\n" + "\n".join(missing[:40])
