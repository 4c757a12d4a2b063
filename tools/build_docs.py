#!/usr/bin/env python
"""Build the docs site into `_docs/`, offline, from the notebooks in `nbs/`.

    .venv/bin/python tools/build_docs.py            # full build
    .venv/bin/python tools/build_docs.py --serve    # ...then serve it on http://127.0.0.1:8000

The site is published with Quarto (`nbdev-docs`), which cannot be installed here. This script does
the same steps with pure-Python tools:

1. `nbdev.quarto.refresh_quarto_yml` writes `nbs/nbdev.yml` (title, site-url, `output-dir: _docs`)
   from `pyproject.toml`, exactly as `nbdev-docs` does;
2. `nbdev.quarto.nbdev_sidebar` writes `nbs/sidebar.yml` listing every notebook, index first
   (`custom_sidebar = false` in pyproject.toml), exactly as `nbdev-docs` does;
3. `nbdev.serve.proc_nbs` runs nbdev's notebook processors (directives, `#| hide`, `show_doc`
   signatures, links) into `_proc/`;
   then `relink` points nbdev's links to a symbol at this site's pages (named after the notebooks)
   and drops `source` links, since the project has no public repository to link to;
4. `smalldocs render _proc` renders that Quarto project (theme, sidebar, search, stored outputs and
   plots) into `_proc/_docs`, which is moved to `_docs/` (what `nbdev-docs` does with Quarto's output);
5. the plots, which smalldocs inlines as `data:` URIs, are written out as files beside each page
   (`_docs/01_data_files/figure-html/fig-1.png`), as Quarto lays them out.

Pages are named after the notebooks: `nbs/01_data.ipynb` -> `_docs/01_data.html`.
Exits non-zero if a step fails, a notebook has no page, or a link between pages is broken.
"""
import argparse, base64, json, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Warnings smalldocs gives for keys of nbdev's standard `_quarto.yml`/`nbdev.yml` and of nbdev's page
# front matter that only Quarto uses (the Markdown copy of each page, Quarto's page names). They are
# right for Quarto, so they are expected here. A broken link between pages fails the build (unless
# --allow-broken-links); any other warning is printed and, with --strict, fails the build.
EXPECTED_WARNINGS = (
    "format commonmark is not built",
    "format.html.keep-md is ignored",
    "unknown key format-links",
    "output-file is not read by smalldocs",  # nbdev names Quarto's pages without the number; smalldocs keeps it
)
SOURCE_LINK = re.compile(r"\[source\]\(/blob/[^)]*\)(\{[^}]*\})?")  # show_doc's, with no repository
DOC_LINK = re.compile(r"\[([^\]]*)\]\(/([\w.-]+)\.html(#[\w.-]*)?\)")  # nbdev's links to a symbol's page
IMG = re.compile(r'(<img\b[^>]*?\bsrc=")data:image/(png|jpeg|gif|webp);base64,([A-Za-z0-9+/=\s]+)(")')


def notebooks(nbs: Path) -> list[Path]:
    "The notebooks that get a page: every `*.ipynb` under `nbs/`, outside `_`/`.` folders and files."
    return sorted(p for p in nbs.rglob("*.ipynb")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(nbs).parts))


def page_for(nb: Path, nbs: Path, docs: Path) -> Path:
    "The HTML page smalldocs writes for notebook `nb`."
    return docs / nb.relative_to(nbs).with_suffix(".html")


def relink(cache: Path, nbs: list[Path], root: Path) -> int:
    """Point nbdev's links at this site's pages, in the processed notebooks: nbdev names a page after
    its module (`data.html`, as Quarto writes it), smalldocs after its notebook (`01_data.html`).
    Links to private names (no entry on the page) and `source` links (no public repository) become
    plain text. Return how many links changed."""
    pages = {re.sub(r"^\d+[a-z]?_", "", nb.stem): nb.relative_to(root).with_suffix(".html").as_posix()
             for nb in nbs}
    n = 0
    def link(m):
        nonlocal n
        n += 1
        text, page, anchor = m.group(1), m.group(2), m.group(3) or ""
        if page not in pages or anchor.startswith("#_"): return text
        return f"[{text}]({pages[page]}{anchor})"
    def fix(text: str) -> str:
        nonlocal n
        text, k = SOURCE_LINK.subn("", text)
        n += k
        return DOC_LINK.sub(link, text)
    for path in cache.rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for c in nb["cells"]:
            if c["cell_type"] == "markdown": c["source"] = fix("".join(c["source"]))
            for o in c.get("outputs", []):
                md = o.get("data", {}).get("text/markdown")
                if md is not None: o["data"]["text/markdown"] = fix("".join(md))
        path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return n


def extract_images(docs: Path) -> int:
    "Write each page's inline pictures to `PAGE_files/figure-html/`, as Quarto does, and link them; return how many."
    n = 0
    for page in sorted(docs.rglob("*.html")):
        if "site_libs" in page.relative_to(docs).parts: continue
        text, k = page.read_text(encoding="utf-8"), 0
        def save(m):
            nonlocal k
            k += 1
            ext = "jpg" if m.group(2) == "jpeg" else m.group(2)
            rel = f"{page.stem}_files/figure-html/fig-{k}.{ext}"
            f = page.parent / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(base64.b64decode("".join(m.group(3).split())))
            return f"{m.group(1)}{rel}{m.group(4)}"
        new = IMG.sub(save, text)
        if k: page.write_text(new, encoding="utf-8")
        n += k
    return n


HREF = re.compile(r'href="([\w.-]+\.html)#([^"]+)"')


def fix_anchors(docs: Path) -> int:
    """Point links at a method's section where nbdev named the bare function: a function patched onto
    a class (`@patch def mfcc(self:Clip)`) is `features.html#mfcc` in nbdev's index, while its section
    on the page is `clip.mfcc`. A link whose anchor is missing and that exactly one `X.anchor` id
    matches (not counting the table of contents' `toc-` ids) is rewritten to it; return how many."""
    pages = {p.name: p for p in docs.glob("*.html")}
    ids = {n: set(re.findall(r'\bid="([^"]+)"', p.read_text(encoding="utf-8"))) for n, p in pages.items()}
    n = 0
    def fix(m):
        nonlocal n
        page, anchor = m.group(1), m.group(2)
        if page not in ids or anchor in ids[page]: return m.group(0)
        found = [i for i in ids[page] if i.endswith("." + anchor) and not i.startswith("toc-")]
        if len(found) != 1: return m.group(0)
        n += 1
        return f'href="{page}#{found[0]}"'
    for p in pages.values():
        text = p.read_text(encoding="utf-8")
        new = HREF.sub(fix, text)
        if new != text: p.write_text(new, encoding="utf-8")
    return n


def build(workers: int = 2, incremental: bool = False, strict: bool = False, quiet: bool = False,
          allow_broken_links: bool = False) -> Path:
    "Build the site; return the `_docs` folder."
    os.chdir(ROOT)
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    from smalldocs.site import build as sd_build

    cfg = get_config()
    nbs, docs = cfg.nbs_path, cfg.doc_path
    nbl = notebooks(nbs)
    if not nbl: sys.exit(f"build_docs: no notebooks in {nbs}")
    t0 = time.time()
    def say(msg):
        if not quiet: print(f"[build_docs {time.time()-t0:5.1f}s] {msg}", flush=True)

    refresh_quarto_yml()
    nbdev_sidebar.__wrapped__(path=str(nbs))
    say(f"nbdev.yml and sidebar.yml up to date ({len(nbl)} notebooks)")

    try: cache = proc_nbs(str(nbs), n_workers=workers, force=not incremental)
    except Exception as e:
        sys.exit(f"build_docs: nbdev's notebook processing failed:\n{e}\n\n"
                 "Hint: to render show_doc, nbdev runs every `#| export` cell and every cell with an import (not the others).\n"
                 "A cell that imports AND uses names from other cells fails there: put imports in their own cell.")
    say(f"nbdev processed the notebooks into {os.path.relpath(cache)}/")
    say(f"pointed {relink(Path(cache), nbl, nbs)} links at this site's pages")

    out = cache / docs.name
    shutil.rmtree(out, ignore_errors=True)
    site = sd_build(cache, quiet=True)
    if Path(site.out).resolve() != out.resolve():
        sys.exit(f"build_docs: smalldocs wrote to {site.out}, expected {out} (check output-dir in nbs/nbdev.yml)")
    unexpected = [w for w in site.warnings if not any(e in w for e in EXPECTED_WARNINGS)]
    for w in unexpected: print(f"build_docs: smalldocs warning: {w}", file=sys.stderr)
    say(f"smalldocs rendered {len(site.pages)} pages")

    shutil.rmtree(docs, ignore_errors=True)
    shutil.move(str(out), str(docs))
    say(f"wrote {extract_images(docs)} pictures to PAGE_files/figure-html/")
    say(f"pointed {fix_anchors(docs)} links to a patched method at its section")
    missing = [nb.relative_to(nbs) for nb in nbl if not page_for(nb, nbs, docs).is_file()]
    if missing: sys.exit(f"build_docs: no page for {', '.join(map(str, missing))}")
    say(f"wrote {os.path.relpath(docs)}/ ({', '.join(page_for(nb, nbs, docs).name for nb in nbl)})")
    broken = [w for w in unexpected if "broken link" in w]
    if broken and not allow_broken_links:
        sys.exit(f"build_docs: {len(broken)} broken link(s) in the site (see above; --allow-broken-links to build anyway)")
    if strict and unexpected: sys.exit(f"build_docs: {len(unexpected)} unexpected smalldocs warning(s) (--strict)")
    return docs


def serve(docs: Path, port: int) -> None:
    "Serve `docs` on 127.0.0.1 until interrupted."
    import functools, http.server
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(docs))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as srv:
        print(f"serving {docs} on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        try: srv.serve_forever()
        except KeyboardInterrupt: pass


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4), help="nbdev processing workers")
    p.add_argument("--incremental", action="store_true", help="reuse _proc/ for notebooks that did not change")
    p.add_argument("--strict", action="store_true", help="fail on smalldocs warnings other than the expected ones")
    p.add_argument("--allow-broken-links", action="store_true", help="do not fail on links to pages that do not exist")
    p.add_argument("--quiet", "-q", action="store_true", help="print only problems")
    p.add_argument("--serve", action="store_true", help="serve _docs/ on 127.0.0.1 after building")
    p.add_argument("--port", type=int, default=8000)
    a = p.parse_args(argv)
    docs = build(a.workers, a.incremental, a.strict, a.quiet, a.allow_broken_links)
    if a.serve: serve(docs, a.port)


if __name__ == "__main__":
    main()
