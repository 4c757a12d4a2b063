#!/usr/bin/env python
"""Check the built site (`_docs/`) in headless Chromium, the way a reader sees it.

    .venv/bin/python tools/build_docs.py && .venv/bin/python tools/browser_check.py [--shots DIR]

It serves `_docs/` on 127.0.0.1 and, for the index and every notebook's page:

- loads the page in Chromium (`--dump-dom`) with a small probe script added by the test server
  (the files in `_docs/` are not changed), and checks in the rendered DOM that: the page has no
  JavaScript errors and no resource failed to load; the cosmo theme is applied (navbar colour);
  the `<h1>` is the notebook's title and every `##`/`###` heading of the notebook is there;
  the sidebar lists every page in `nbs/sidebar.yml`'s order; there is at least one `<img>` per
  stored picture output of the notebook and every `<img>` has loaded (`complete`, natural size > 0); at least one
  `<audio>` per audio player the notebook shows, each with a source that did not fail;
- checks every picture file exists and is a non-empty PNG/JPEG that decodes;
- takes a 1280x900 screenshot of the top of the page (not blank; navbar in the theme colour) and,
  when the page has plots, one with the content before its first plot hidden (so the plot sits at the
  top of the window), whose on-screen pixels must match the plot's own PNG (so the plot is really
  drawn, not a broken-image box);
- on the index, types into the search box and checks that search finds a chapter by a word of its title, and the
  page that documents an exported function by the function's name;
- with Playwright's Chromium: at 1280 px every input cell whose lines fit 100 characters shows without a sideways
  scroll bar; at 390 px (a phone) the page does not scroll sideways, nothing is cut off at its right edge, the prose is
  14 px or more and the sidebar is folded away.

Exit status 1 when anything is wrong; screenshots are left in --shots for a human to look at.
"""
import argparse, contextlib, functools, html, http.server, io, json, os, re, shutil, subprocess, sys, tempfile, threading
from pathlib import Path
from urllib.parse import urlsplit, parse_qs

ROOT = Path(__file__).resolve().parents[1]
WINDOW = (1280, 900)
COSMO_PRIMARY = (39, 128, 227)  # cosmo's $primary, the navbar background (`background: primary`)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  "--disable-extensions", "--mute-audio", "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    "The Chromium binary: $CHROMIUM, else `chromium`, `chromium-browser` or `google-chrome` on PATH."
    if "CHROMIUM" in os.environ: return shutil.which(os.environ["CHROMIUM"])  # CHROMIUM= (empty) means none
    return next((p for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable") if (p := shutil.which(n))), None)


# ---------------------------------------------------------------- the probe the test server adds to a page

PROBE = r"""<script>
(function(){
  var errs = window.__serErrors = [];
  window.addEventListener('error', function(e){
    var t = e.target;
    if (t && t.tagName === 'LINK' && t.sheet) {
      // the stylesheet itself loaded, but one of its @imports failed: the theme's web font, which is
      // fetched from fonts.googleapis.com and cannot load offline. The page falls back to system fonts.
      try { if (t.sheet.cssRules.length > 0) { (window.__serNotes = window.__serNotes || []).push('an @import of ' + t.href + ' did not load'); return; } } catch (x) {}
    }
    errs.push(t && t !== window && (t.src || t.href) ? 'failed to load ' + (t.src || t.href) : 'JS error: ' + (e.message || e));
  }, true);
  window.addEventListener('unhandledrejection', function(e){ errs.push('unhandled rejection: ' + e.reason); });
  var args = new URLSearchParams(location.search);
  function q(sel, root){ return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function report(extra){
    var main = document.querySelector('main') || document.body, nav = document.querySelector('nav.navbar');
    var res = {
      title: document.title,
      h1: q('h1', main).map(function(e){ return e.textContent.trim(); }),
      headings: q('h2, h3, .callout-title-container', main).map(function(e){ return e.textContent.trim(); }),
      imgs: q('img', main).map(function(i){
        var r = i.getBoundingClientRect();
        return {src: (i.getAttribute('src') || '').slice(0, 300), complete: i.complete, nw: i.naturalWidth, nh: i.naturalHeight,
                x: r.left, y: r.top, w: r.width, h: r.height};
      }),
      sidebar: q('#quarto-sidebar a.sidebar-link').map(function(a){ return [a.getAttribute('href'), a.textContent.trim()]; }),
      navbar_title: nav ? (nav.querySelector('.navbar-title') || nav).textContent.trim() : null,
      navbar_bg: nav ? getComputedStyle(nav).backgroundColor : null,
      toc: q('#TOC a').length,
      text: main.textContent.replace(/\s+/g, ' '),
      search_box: !!document.querySelector('#quarto-search input'),
      audios: q('audio', main).map(function(a){
        var s = a.currentSrc || a.getAttribute('src') || (a.querySelector('source') || {src: ''}).src;
        return {src: s.slice(0, 80), error: a.error ? a.error.code : null};
      }),
      notes: window.__serNotes || [],
      errors: errs.concat(performance.getEntriesByType('resource').filter(function(r){
        return r.name.indexOf(location.origin) === 0 && r.responseStatus >= 400 && !/\/favicon\.ico$/.test(r.name);
      }).map(function(r){ return 'HTTP ' + r.responseStatus + ' for ' + r.name; }))
    };
    for (var k in (extra || {})) res[k] = extra[k];
    var out = document.createElement('pre'); out.id = 'ser-probe'; out.style.display = 'none';
    out.textContent = JSON.stringify(res); document.body.appendChild(out);
  }
  if (args.get('ser_shot') === 'plot') {
    // bring the page's first plot to the top of the window: hide what comes before it (headings stay)
    document.addEventListener('DOMContentLoaded', function(){
      var main = document.querySelector('main'), img = main && main.querySelector('img');
      if (!img) return;
      for (var n = img; n && n !== main; n = n.parentElement)
        for (var p = n.previousElementSibling; p; p = p.previousElementSibling)
          if (!/^H[1-3]$/.test(p.tagName)) p.style.display = 'none';
      var tb = document.getElementById('title-block-header'); if (tb) tb.style.display = 'none';
    });
  }
  window.addEventListener('load', function(){
    if (!args.get('ser_probe')) return;
    var term = args.get('ser_search');
    if (!term) { setTimeout(report, 100); return; }
    var input = document.querySelector('#quarto-search input');
    if (!input) { report({search: null}); return; }
    input.focus(); input.value = term; input.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(function(){
      report({search: q('.smalldocs-search-results .search-result').map(function(a){ return a.getAttribute('href'); })});
    }, 1500);
  });
})();
</script>"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    "Serve the site; add the probe to HTML pages requested with a `ser_` query."
    def log_message(self, *a): pass

    def do_GET(self):
        u = urlsplit(self.path)
        if not any(k.startswith("ser_") for k in parse_qs(u.query)) or not u.path.endswith(".html"):
            return super().do_GET()
        f = Path(self.translate_path(u.path))
        if not f.is_file(): return self.send_error(404)
        text = f.read_text(encoding="utf-8")
        text = re.sub(r"<head>", lambda m: m.group(0) + PROBE, text, count=1)
        body = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serve(docs: Path):
    "Serve `docs` on a free port of 127.0.0.1; yield the base URL."
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(docs)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try: yield f"http://127.0.0.1:{srv.server_address[1]}/"
    finally:
        srv.shutdown()
        srv.server_close()


def chromium(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess:
    "Run headless Chromium with a fresh profile."
    exe = find_chromium()
    if not exe: raise RuntimeError("chromium not found (apt-get install -y --no-install-recommends chromium)")
    with tempfile.TemporaryDirectory(prefix="ser-chromium-") as prof:
        return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={prof}", *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)


def quiet(stderr: str) -> str:
    "Chromium's stderr without the D-Bus noise of a machine with no desktop session."
    return "\n".join(l for l in stderr.splitlines() if "dbus" not in l and "DBus" not in l and l.strip())[-2000:]


def probe(url: str, window: tuple[int, int] = WINDOW) -> dict:
    "Load `url` (with `ser_probe=1`) in a window of `window` pixels; return what the probe found in the rendered DOM."
    r = chromium(["--virtual-time-budget=15000", f"--window-size={window[0]},{window[1]}", "--dump-dom", url])
    m = re.search(r'<pre id="ser-probe"[^>]*>(.*?)</pre>', r.stdout, re.S)
    if not m: raise RuntimeError(f"no probe result from {url} (chromium exit {r.returncode}): {quiet(r.stderr)}")
    return json.loads(html.unescape(m.group(1)))


def screenshot(url: str, dest: Path, height: int = WINDOW[1]) -> Path:
    "Save a screenshot of `url` to `dest`, 1280 pixels wide and `height` tall (the top of the page)."
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    r = chromium(["--virtual-time-budget=15000", f"--screenshot={dest}", f"--window-size={WINDOW[0]},{height}", url])
    if not dest.is_file(): raise RuntimeError(f"no screenshot of {url} (chromium exit {r.returncode}): {quiet(r.stderr)}")
    return dest


# ---------------------------------------------------------------- what each page should show

def md_text(s: str) -> str:
    "Markdown inline text as a browser shows it, for comparing headings."
    s = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", s)
    s = re.sub(r"<[^>]+>", "", s)
    return " ".join(html.unescape(s).split())


_SMART = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})

def norm(s: str) -> str:
    "Heading text as compared: no pilcrow, straight quotes and dashes (the renderer makes them typographic), single spaces."
    return " ".join(s.replace("\u00b6", "").translate(_SMART).split())


def expected(nb_path: Path) -> dict:
    "What the page of a (processed) notebook should show: title, headings, numbers of picture outputs and audio players."
    from smalldocs.notebook import cell_options
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    title, heads, pics, players = None, [], 0, 0
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            fence = False
            for line in src.split("\n"):
                if line.lstrip().startswith(("```", "~~~")): fence = not fence
                if fence: continue
                m = re.match(r"^(#{1,3})\s+(.+?)\s*#*\s*$", line)
                if not m: continue
                if len(m.group(1)) == 1 and title is None: title = md_text(m.group(2))
                elif len(m.group(1)) > 1: heads.append(md_text(re.sub(r"\s*\{[^}]*\}$", "", m.group(2))))
        elif cell["cell_type"] == "code":
            opts, _ = cell_options(src)
            if opts.get("include") is False or opts.get("output") is False or opts.get("echo") == "fenced": continue
            if "remove-output" in (cell.get("metadata", {}).get("tags") or []): continue
            for o in cell.get("outputs", []):
                d = o.get("data") or {}
                if "image/svg+xml" not in d and any(k in d for k in ("image/png", "image/jpeg", "image/gif")): pics += 1
                if "<audio" in "".join(d.get("text/html", "")): players += 1
    fm = re.match(r"---\n(.*?)\n---", "".join(nb["cells"][0]["source"]) if nb["cells"] else "", re.S)
    if fm and title is None:
        m = re.search(r"^title:\s*['\"]?(.*?)['\"]?\s*$", fm.group(1), re.M)
        if m: title = md_text(m.group(1))
    return {"title": title, "headings": heads, "pics": pics, "players": players}


def first_export(nb: Path) -> str | None:
    "The name of the first function a notebook exports (`#| export` then `def name`), if any."
    for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and re.match(r"#\|\s*exports?\b", src) and (m := re.search(r"^def (\w+)", src, re.M)): return m.group(1)
    return None


def sidebar_pages(nbs: Path) -> list[str]:
    "The pages `nbs/sidebar.yml` lists, in order, as `.html` paths."
    import yaml
    out = []
    def walk(items):
        for it in items or []:
            if isinstance(it, str): out.append(str(Path(it).with_suffix(".html")))
            elif isinstance(it, dict):
                if it.get("href"): out.append(str(Path(it["href"]).with_suffix(".html")))
                walk(it.get("contents"))
    walk(yaml.safe_load((nbs / "sidebar.yml").read_text())["website"]["sidebar"]["contents"])
    return out


# ---------------------------------------------------------------- pictures

def image_problems(f: Path) -> list[str]:
    "Problems with a picture file: missing, empty, not a PNG/JPEG/GIF, or not decodable."
    if not f.is_file(): return [f"{f.name}: missing"]
    b = f.read_bytes()
    if len(b) < 100: return [f"{f.name}: only {len(b)} bytes"]
    if not (b.startswith(b"\x89PNG\r\n\x1a\n") or b.startswith(b"\xff\xd8") or b.startswith(b"GIF8")):
        return [f"{f.name}: not a PNG/JPEG/GIF"]
    from PIL import Image
    try:
        with Image.open(f) as im:
            im.load()
            if min(im.size) < 10: return [f"{f.name}: {im.size[0]}x{im.size[1]} pixels"]
    except Exception as e: return [f"{f.name}: does not decode ({e})"]
    return []


def blank_problems(shot: Path) -> list[str]:
    "Problems with a screenshot: wrong size, blank, or no themed navbar."
    from PIL import Image, ImageStat
    with Image.open(shot) as im:
        rgb = im.convert("RGB")
    out = []
    if rgb.size[0] != WINDOW[0] or rgb.size[1] < WINDOW[1]: out.append(f"{shot.name}: size {rgb.size}, expected {WINDOW}")
    gray = rgb.convert("L")
    if ImageStat.Stat(gray).stddev[0] < 8: out.append(f"{shot.name}: blank (no contrast)")
    body = gray.crop((0, 60, rgb.size[0], rgb.size[1]))
    dark = sum(body.point(lambda v: 255 if v < 160 else 0).histogram()[255:]) / (body.size[0] * body.size[1])
    if dark < 0.005: out.append(f"{shot.name}: almost no text or drawing below the navbar ({dark:.2%} dark pixels)")
    nav = rgb.crop((0, 0, rgb.size[0], 40)).getcolors(rgb.size[0] * 40)
    top = max(nav)[1] if nav else (0, 0, 0)
    if sum(abs(a - b) for a, b in zip(top, COSMO_PRIMARY)) > 30: out.append(f"{shot.name}: navbar colour {top}, expected cosmo primary {COSMO_PRIMARY}")
    return out


def plot_problems(shot: Path, pic: Path, img: dict) -> list[str]:
    "Check the pixels where the first plot sits on screen look like the plot's own PNG."
    from PIL import Image, ImageChops, ImageStat
    with Image.open(shot) as s, Image.open(pic) as p:
        s, p = s.convert("RGB"), p.convert("RGB")
    x0, y0 = max(0, round(img["x"])), max(0, round(img["y"]))
    x1, y1 = min(s.size[0], round(img["x"] + img["w"])), min(s.size[1], round(img["y"] + img["h"]))
    if x1 - x0 < 20 or y1 - y0 < 20: return [f"{shot.name}: the first plot is not on screen ({img})"]
    crop = s.crop((x0, y0, x1, y1))
    scale = img["w"] / p.size[0]
    ref = p.resize((max(1, round(p.size[0] * scale)), max(1, round(p.size[1] * scale))), Image.LANCZOS)
    ref = ref.crop((x0 - round(img["x"]), y0 - round(img["y"]), x0 - round(img["x"]) + crop.size[0], y0 - round(img["y"]) + crop.size[1]))
    diff = ImageStat.Stat(ImageChops.difference(crop, ref).convert("L")).mean[0]
    white = ImageStat.Stat(ImageChops.difference(Image.new("RGB", ref.size, "white"), ref).convert("L")).mean[0]
    if ImageStat.Stat(crop.convert("L")).stddev[0] < 5: return [f"{shot.name}: the plot area is blank"]
    if white > 1 and diff > 0.5 * white: return [f"{shot.name}: the plot on screen does not match its PNG (diff {diff:.1f}, blank {white:.1f})"]
    return []


# ---------------------------------------------------------------- one page, the whole site

def check_page(base: str, docs: Path, page: str, want: dict | None, sidebar: list[str], shots: Path) -> tuple[dict, list[str]]:
    "Check one page; return the probe's findings and the problems."
    probs, url = [], base + page
    if not (docs / page).is_file():
        return {}, [f"_docs/{page} was not built" + (" (it comes from nbs/index.ipynb)" if page == "index.html" else "")]
    found = probe(url + "?ser_probe=1")
    probs += [f"{e}" for e in found["errors"]]
    bg = found["navbar_bg"] or ""
    if bg.replace(" ", "") != "rgb({},{},{})".format(*COSMO_PRIMARY): probs.append(f"navbar background {bg!r}: the cosmo theme is not applied")
    if found["navbar_title"] != "ser_nb": probs.append(f"navbar title {found['navbar_title']!r}, expected 'ser_nb'")
    if not found["search_box"]: probs.append("no search box")
    side = [h for h, _ in found["sidebar"]]
    if side != sidebar: probs.append(f"sidebar links {side}, expected {sidebar}")
    if not found["h1"]: probs.append("no <h1> title")
    if want:
        if want["title"] and norm(want["title"]) not in map(norm, found["h1"]): probs.append(f"<h1> {found['h1']}, expected {want['title']!r}")
        got = [norm(h) for h in found["headings"]]
        text = norm(found.get("text", ""))
        miss = [h for h in want["headings"] if norm(h) not in got and norm(h) not in text]  # tab labels etc. are not <hN>
        if miss: probs.append(f"headings missing from the page: {miss}")
        if len(found["imgs"]) < want["pics"]: probs.append(f"{len(found['imgs'])} <img> on the page, but the notebook has {want['pics']} picture outputs")
        if len(found["audios"]) < want["players"]: probs.append(f"{len(found['audios'])} <audio> on the page, but the notebook has {want['players']} players")
    probs += [f"<audio> {i+1} has no source or failed (error {a['error']})" for i, a in enumerate(found["audios"]) if not a["src"] or a["error"]]
    for i, im in enumerate(found["imgs"]):
        if not (im["complete"] and im["nw"] > 0 and im["nh"] > 0): probs.append(f"<img> {i+1} did not load: {im['src'][:80]}")
        elif im["w"] < 10 or im["h"] < 10: probs.append(f"<img> {i+1} is drawn {im['w']}x{im['h']} pixels")
        if not re.match(r"[a-z]+:", im["src"]):
            probs += [f"<img> {i+1}: {p}" for p in image_problems((docs / page).parent / im["src"].split("?")[0])]
    stem = Path(page).with_suffix("").as_posix().replace("/", "__")
    top = screenshot(url + "?ser_shot=top", shots / f"{stem}.png")
    probs += blank_problems(top)
    local = [im for im in found["imgs"] if not re.match(r"[a-z]+:", im["src"]) and im["src"].lower().endswith(".png") and im["w"] > 10]
    if local:
        # the first plot, brought to the top of the window; its pixels on screen must match its PNG
        pic = (docs / page).parent / local[0]["src"].split("?")[0]
        imgs = probe(url + "?ser_probe=1&ser_shot=plot")["imgs"]
        if imgs and not image_problems(pic):
            shot = screenshot(url + "?ser_shot=plot", shots / f"{stem}.plot.png")
            probs += plot_problems(shot, pic, imgs[0])
    return found, probs


# ---------------------------------------------------------------- layout at a desktop and a phone width

WIDE, PHONE = (1280, 900), (390, 844)
TYPICAL_COLUMNS = 100  # a cell whose lines fit in this many characters must fit the content column at 1280 px
LAYOUT = r"""() => {
  const main = document.querySelector('main') || document.body, W = innerWidth;
  const scrolls = e => { for (let n = e.parentElement; n && n !== main; n = n.parentElement) {
    const o = getComputedStyle(n).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const cut = [...main.querySelectorAll('p, li, h1, h2, h3, table, img, audio, pre, .cell-output-display')].filter(
    e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > W + 1 && !scrolls(e)).map(
    e => e.tagName.toLowerCase() + ': ' + e.textContent.trim().slice(0, 50));
  const code = [...main.querySelectorAll('pre.cell-code')].map(p => ({over: p.scrollWidth - p.clientWidth,
    cols: Math.max(...p.textContent.split('\n').map(l => l.length)), text: p.textContent.slice(0, 50)}));
  const side = document.querySelector('#quarto-sidebar');
  return {cut, code, page: document.documentElement.scrollWidth, W, font: parseFloat(getComputedStyle(main.querySelector('p') || main).fontSize),
          sidebar_shown: !!side && side.getBoundingClientRect().width > 0 && getComputedStyle(side).visibility !== 'hidden'
                         && side.getBoundingClientRect().left >= 0};
}"""


def layout_problems(base: str, pages: list[str]) -> dict[str, list[str]]:
    """Each page at 1280 px: every input cell whose lines fit `TYPICAL_COLUMNS` characters shows without a sideways
    scroll bar; at 390 px (a phone): no sideways scrolling of the page, nothing cut off at the right edge (wide code and
    tables scroll in their own box), prose at 14 px or more, the sidebar folded away. Uses Playwright's Chromium."""
    from playwright.sync_api import sync_playwright
    out = {p: [] for p in pages}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"])
        for (w, h) in (WIDE, PHONE):
            tab = b.new_page(viewport={"width": w, "height": h})
            for page in pages:
                tab.goto(base + page, wait_until="load")
                r, probs = tab.evaluate(LAYOUT), out[page]
                if w == WIDE[0]:
                    probs += [f"at {w} px, a cell of {c['cols']} columns scrolls sideways: {c['text']!r}"
                              for c in r["code"] if c["over"] > 0 and c["cols"] <= TYPICAL_COLUMNS]
                    continue
                if r["page"] > r["W"]: probs.append(f"at {w} px the page is {r['page']} px wide: it scrolls sideways")
                probs += [f"at {w} px, cut off at the right edge: {c}" for c in r["cut"][:5]]
                if r["font"] < 14: probs.append(f"at {w} px the prose is {r['font']} px")
                if r["sidebar_shown"]: probs.append(f"at {w} px the sidebar is not folded away")
            tab.close()
        b.close()
    return out

def search_problems(base: str, start: str, term: str, page: str, say=print) -> list[str]:
    "Type `term` into the search box of `start`: problems unless a result links to `page`."
    try:
        hits = probe(base + start + "?ser_probe=1&ser_search=" + term).get("search") or []
        probs = [] if any(h.split("#")[0].endswith(page) for h in hits) else [f"searching {term!r} from {start} gave {hits[:5]}, no link to {page}"]
    except Exception as e: hits, probs = [], [f"{type(e).__name__}: {e}"]
    say(f"{'ok  ' if not probs else 'FAIL'} search {term!r}: {len(hits)} results" + "".join(f"\n       - {p}" for p in probs))
    return probs


def check_site(docs: Path, nbs: Path, proc: Path, shots: Path, say=print) -> dict[str, list[str]]:
    "Check the index and every notebook's page; return the problems of each page (empty lists when fine)."
    sys.path.insert(0, str(Path(__file__).parent))
    from build_docs import notebooks, page_for
    shots.mkdir(parents=True, exist_ok=True)
    sidebar = sidebar_pages(nbs)
    pages = {page_for(nb, nbs, docs).relative_to(docs).as_posix(): nb for nb in notebooks(nbs)}
    if "index.html" not in pages: pages = {"index.html": None, **pages}
    out: dict[str, list[str]] = {}
    with serve(docs) as base:
        for page, nb in pages.items():
            want = None
            if nb is not None:
                src = proc / nb.relative_to(nbs)
                want = expected(src if src.is_file() else nb)
            try: found, probs = check_page(base, docs, page, want, sidebar, shots)
            except Exception as e: found, probs = {}, [f"{type(e).__name__}: {e}"]
            out[page] = probs
            say(f"{'ok  ' if not probs else 'FAIL'} {page}: {len(found.get('imgs', []))} img, "
                f"{len(found.get('headings', []))} headings" + "".join(f"\n       - {p}" for p in probs))
        # search, from the index: a word of the first notebook page's title should find that page, and so should the
        # name of the first function the package exports
        start = next((p for p in pages if (docs / p).is_file()), "index.html")  # the index, when it is there
        titled = [(p, expected(nb)["title"]) for p, nb in pages.items() if nb is not None and p != "index.html"]
        if titled:
            page, title = titled[0]
            words = [w for w in re.findall(r"\w+", title or "") if len(w) > 2] or [Path(page).stem]
            out["search"] = search_problems(base, start, max(words, key=len), page, say)
            page, name = next((p, name) for p, nb in pages.items() if nb is not None and (name := first_export(nb)))
            out["search by name"] = search_problems(base, start, name, page, say)
        for page, probs in layout_problems(base, [p for p in pages if (docs / p).is_file()]).items():
            out[page] += probs
            say("".join(f"FAIL {page}: {p}\n" for p in probs).rstrip() or f"ok   {page}: layout at {WIDE[0]} and {PHONE[0]} px")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", default=str(ROOT / "_docs"), help="the built site")
    p.add_argument("--shots", default=str(ROOT / "_proc" / "browser_check"), help="where to save the screenshots")
    a = p.parse_args(argv)
    if not find_chromium(): sys.exit("browser_check: chromium not found (apt-get install -y --no-install-recommends chromium)")
    res = check_site(Path(a.docs), ROOT / "nbs", ROOT / "_proc", Path(a.shots))
    bad = {k: v for k, v in res.items() if v}
    print(f"browser_check: {len(res) - len(bad)} ok, {len(bad)} failed; screenshots in {a.shots}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
