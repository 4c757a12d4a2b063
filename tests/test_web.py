"""`ser export MODEL --web OUT/` and `ser serve`'s switch in headless Chromium: the page's answers are
Python's, and no request carries audio. One browser for the whole file; clips go in through a test hook."""
import base64, functools, http.server, socket, statistics, threading, time
from pathlib import Path

import numpy as np, pytest, soundfile as sf

from conftest import in_ci
from ser_nb.data import data_root, read_ravdess, select_emotions
from ser_nb.model import load, pretrained

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("web")

N_CLIPS = 48  # RAVDESS clips compared with Python, 12 per emotion
READY = "document.getElementById('local-why').textContent.includes('runs in this page')"
ASSETS = {"", "health", "config.json", "app.js", "model.onnx", "vad/silero_vad.onnx", "ort/ort.wasm.min.js",
          "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm"}


@pytest.fixture(scope="module")
def chromium():
    "Chromium's path, or a skip (a failure in CI) when it is not installed."
    from browser_check import find_chromium
    path = find_chromium()
    if not path:
        msg = "chromium is not installed (apt-get install -y --no-install-recommends chromium)"
        if in_ci(): pytest.fail(f"CI=true: {msg}; the in-browser page must be tested in CI", pytrace=False)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="module")
def clips():
    "RAVDESS clips of the 4 default emotions, the same every run: evenly spaced through each emotion's sorted list."
    df = select_emotions(read_ravdess(data_root()/"ravdess")).sort_values("path").reset_index(drop=True)
    pick = lambda g: g.iloc[np.linspace(0, len(g) - 1, N_CLIPS//4).astype(int)]
    return df.groupby("emotion", group_keys=False).apply(pick).path.tolist()


@pytest.fixture(scope="module")
def model(): return load(pretrained("whisper-base-int8"))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, clips):
    "A 16 kHz recording of 4 clips with 3 s of silence between them (for the timeline), and one clip for the fake microphone."
    from ser_nb.data import load_audio
    d, gap = tmp_path_factory.mktemp("recordings"), np.zeros(3*16000, np.float32)
    sf.write(d/"long.wav", np.concatenate([x for c in clips[::12] for x in (load_audio(c), gap)]), 16000, subtype="PCM_16")
    sf.write(d/"mic.wav", load_audio(clips[-1]), 16000, subtype="PCM_16")
    return d


def serve_folder(folder: Path) -> str:
    "`python -m http.server` in `folder`, in a thread on a free port; its URL."
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture(scope="module")
def browser(chromium, recordings):
    "One headless Chromium, its fake microphone playing `mic.wav`."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={recordings/'mic.wav'}"])
        yield b
        b.close()


def open_page(browser, url: str):
    "A page at `url`, with every request it makes logged as (method, URL, has a body)."
    page = browser.new_page(viewport={"width": 640, "height": 480})
    page.requests = []
    page.on("request", lambda r: page.requests.append((r.method, r.url, r.post_data_buffer is not None)))
    page.goto(url)
    return page


def only_assets(page, base: str):
    "Assert the page fetched nothing but the in-browser page's files, and sent nothing."
    bad = [(m, u) for m, u, body in page.requests if m != "GET" or body or not u.startswith(base) or u[len(base):] not in ASSETS]
    assert not bad, f"requests beyond the static files: {bad}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "`ser export whisper-base-int8 --web SITE`, served by a plain static file server."
    from ser_nb.cli import main
    out = tmp_path_factory.mktemp("web")/"site"
    assert main(["export", "whisper-base-int8", "--web", str(out)]) == 0
    return out, serve_folder(out)


@pytest.fixture(scope="module")
def static_page(browser, site):
    page = open_page(browser, site[1])
    page.wait_for_function(READY, timeout=60_000)
    yield page
    page.close()


def test_the_folder_holds_only_what_the_page_needs(site):
    files = {str(p.relative_to(site[0])) for p in site[0].rglob("*") if p.is_file()}
    assert files == (ASSETS - {""}) | {"index.html", "vad/LICENSE"}, files
    size = sum(p.stat().st_size for p in site[0].rglob("*") if p.is_file())
    assert size < 50*2**20, f"{size/2**20:.1f} MiB"


def test_browser_agrees_with_python(static_page, site, clips, model):
    "The page's probabilities for RAVDESS clips (48 kHz, resampled by the browser) against `predict_proba`."
    P = model.predict_proba(clips)
    run = lambda c: static_page.evaluate("([b, n]) => serProbabilities(b, n)",
                                         [base64.b64encode(Path(c).read_bytes()).decode(), Path(c).name])
    out = [run(c) for c in clips]
    Q = np.array([o["probabilities"] for o in out])
    same, diff = (P.argmax(1) == Q.argmax(1)).mean(), np.abs(P - Q).max()
    print(f"\n{len(clips)} clips: same answer {same:.1%}, max abs diff {diff:.3f}, "
          f"median {statistics.median(o['ms'] for o in out):.0f} ms a clip in the browser")
    assert same >= 0.99, same
    assert diff < 0.1, diff
    only_assets(static_page, site[1])


def test_page_answers_files_and_the_timeline(static_page, site, clips, model, recordings):
    "Through the page's own file field: a clip gets Python's emotion; a long recording Python's timeline."
    from ser_nb.timeline import emotion_timeline
    page = static_page
    page.set_input_files("#file", clips[0]); page.click("button[type=submit]")
    page.wait_for_selector("#bars .bar")
    assert page.text_content("#emotion").startswith(model.predict(clips[0])[0] + " (")
    page.set_input_files("#file", str(recordings/"long.wav")); page.click("button[type=submit]")
    page.wait_for_selector("#timeline .segment", timeout=60_000)
    titles = page.eval_on_selector_all("#timeline .segment", "els => els.map(e => e.title)")
    want = [f"{r['start']:.1f}-{r['end']:.1f} s: {r['emotion']} ({100*r['confidence']:.0f}%)"
            for r in emotion_timeline(model, recordings/"long.wav")]
    assert [t.split(" (")[0] for t in titles] == [w.split(" (")[0] for w in want], (titles, want)
    only_assets(page, site[1])


def test_fake_microphone(static_page, site):
    "Record from Chromium's fake microphone (playing a RAVDESS clip): an emotion, computed in the page."
    page = static_page
    page.evaluate("() => { $('emotion').textContent = $('error').textContent = ''; }")
    page.click("#record"); page.wait_for_timeout(3000); page.click("#record")
    page.wait_for_function("$('emotion').textContent !== '' || $('error').textContent !== ''", timeout=30_000)
    assert page.text_content("#emotion"), page.text_content("#error")
    only_assets(page, site[1])


def test_served_page_switch(browser, clips, model):
    """`ser serve`'s page with the switch on, behind a token: without the token the model is not loaded (the switch turns off
    and says why); with it, the answer is computed in the page and no POST reaches the server."""
    import uvicorn
    from ser_nb.serve import create_app
    from ser_nb.web import write_web
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(pretrained("whisper-base-int8"), token="s3cret", web=write_web),
                                           host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started: time.sleep(0.05)
    try:
        url = f"http://127.0.0.1:{port}/"
        page = open_page(browser, url)
        models = []
        page.on("request", lambda r: models.append(r.headers.get("authorization")) if r.url.endswith("model.onnx") else None)
        page.wait_for_function("!document.getElementById('local').disabled")
        page.check("#local"); page.wait_for_function("document.getElementById('local-why').textContent.includes('API token')")
        assert not page.is_checked("#local")
        page.fill("#token", "s3cret"); page.check("#local"); page.wait_for_function(READY, timeout=60_000)
        page.set_input_files("#file", clips[1]); page.click("button[type=submit]")
        page.wait_for_selector("#bars .bar")
        assert page.text_content("#emotion").startswith(model.predict(clips[1])[0] + " (")
        assert all(m == "GET" and not body for m, u, body in page.requests), page.requests
        assert {u[len(url):] for _, u, _ in page.requests} <= {"web/" + a for a in ASSETS - {"", "health"}} | {"", "health"}
        assert models == [None, "Bearer s3cret"], models
        page.close()
    finally: server.should_exit = True


def test_page_answers_the_aspects(browser, clips, tmp_path):
    """A model that learnt intensity, arousal and valence (random weights, as if trained), exported for the browser: the
    page answers each aspect as `predict_records` does, and shows them under the emotion."""
    from ser_nb.export import as_if_trained
    from ser_nb.model import ASPECTS
    from ser_nb.runtime import export_onnx
    from ser_nb.transformer import TransformerEmotionRecognizer, tiny_encoder
    from ser_nb.web import write_web
    tiny = TransformerEmotionRecognizer(str(tiny_encoder("whisper", tmp_path/"encoder")), frozen=True, cache_dir=False)
    onnx = export_onnx(as_if_trained(tiny, clips[:4], aspects=ASPECTS))  # float32: Python and the page run one graph
    page = open_page(browser, serve_folder(write_web(onnx, tmp_path/"site")))
    page.wait_for_function(READY, timeout=60_000)
    page.set_input_files("#file", clips[0]); page.click("button[type=submit]")
    page.wait_for_selector("#bars .bar")
    want = next(onnx.predict_records([clips[0]]))
    shown = dict(part.split(": ") for part in page.text_content("#aspects").split(" · "))
    assert list(shown) == list(ASPECTS), shown
    for a, said in shown.items():  # "strong (71%)": a label of that aspect, with Python's probability of it
        label, pct = said.rstrip("%)").split(" (")
        assert label in ASPECTS[a] and abs(int(pct) - 100*want[a]["probabilities"][label]) <= 5, (a, said, want[a])
    page.close()
