"`ser serve` as a user runs it: a real server process, 8 clients at once, good and bad uploads mixed, its memory watched."
import json, os, socket, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx, numpy as np, psutil, pytest, soundfile as sf

from conftest import SER
from ser_nb.data import make_toy_corpus

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("serve")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    "A logistic regression on MFCC statistics of a generated corpus, and the corpus' clips."
    d = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "SER_CACHE": str(d/"cache")}
    root = make_toy_corpus(d/"ravdess", "ravdess", n_speakers=6, per_emotion=2)
    run = lambda *a: subprocess.run([*SER, *map(str, a)], capture_output=True, text=True, env=env, timeout=600)
    assert run("prepare", "ravdess", root, "--out", d/"csv").returncode == 0
    r = run("train", "lr", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
            "--features", "mfcc_stats", "--out", d/"model")
    assert r.returncode == 0, r.stderr
    clips = sorted(root.rglob("*.wav"))[:12]
    # the clips are sine tones: the speech gate is lifted here and in `start` (tested in test_gate_refuses_noise_with_a_422)
    answers = {c.name: json.loads(l)["emotion"] for c, l in zip(clips, run("predict", d/"model", *clips, "--json", "--min-speech", "0").stdout.splitlines())}
    return d, env, clips, answers

def start(d, env, *flags):
    port = free_port()
    if "--min-speech" not in flags: flags = (*flags, "--min-speech", "0")
    proc = subprocess.Popen([*SER, "serve", d/"model", "--port", str(port), *flags], stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/health"); return proc, url
        except httpx.TransportError: time.sleep(0.1)
    proc.kill(); pytest.fail(f"ser serve did not start: {proc.stderr.read()}")

def test_200_requests_from_8_clients_with_bad_uploads(trained, tmp_path):
    d, env, clips, answers = trained
    sf.write(tmp_path/"long.wav", np.zeros(16_000*70, np.float32), 16_000)
    good = [(c.name, c.read_bytes()) for c in clips]
    bad = {"notes.wav": b"this is not audio", "empty.wav": b"", "cut.wav": clips[0].read_bytes()[:60], "long.wav": (tmp_path/"long.wav").read_bytes()}
    uploads = good + list(bad.items())
    proc, url = start(d, env)
    try:
        client = httpx.Client(timeout=60)
        def post(i):
            name, data = uploads[i % len(uploads)]
            r = client.post(f"{url}/predict", files={"file": (name, data)})
            return name, r.status_code, r.json()
        rss = lambda: psutil.Process(proc.pid).memory_info().rss
        with ThreadPoolExecutor(8) as pool:
            warm = list(pool.map(post, range(48)))
            before = rss()
            replies = list(pool.map(post, range(200)))
        after = rss()
        for name, status, out in warm + replies:
            if name in answers: assert (status, out["emotion"], out["filename"]) == (200, answers[name], name), (name, status, out)
            else: assert status == {"notes.wav": 415, "empty.wav": 422, "cut.wav": 422, "long.wav": 413}[name] and name in out["detail"], (name, status, out)
        assert httpx.get(f"{url}/health").json()["status"] == "ok" and proc.poll() is None
        assert after - before < 30 * 2**20, f"the server grew by {(after - before) / 2**20:.1f} MiB over 200 requests"
    finally:
        proc.terminate(); proc.wait(10)

def test_token_from_the_environment_and_the_exposed_warning(trained):
    d, env, clips, answers = trained
    proc, url = start(d, {**env, "SER_TOKEN": "s3cret"}, "--host", "0.0.0.0")
    try:
        files = {"file": (clips[0].name, clips[0].read_bytes())}
        assert httpx.post(f"{url}/predict", files=files).status_code == 401
        r = httpx.post(f"{url}/predict", files=files, headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and r.json()["emotion"] == answers[clips[0].name]
    finally:
        proc.terminate(); proc.wait(10)
    assert "without a token" not in proc.stderr.read()
    proc, url = start(d, env, "--host", "0.0.0.0")
    proc.terminate(); proc.wait(10)
    assert "warning: listening on 0.0.0.0 without a token" in proc.stderr.read()


def test_gate_refuses_noise_with_a_422(trained, tmp_path):
    "With the speech gate on (the default), an upload without speech gets a 422 naming it, never an emotion; speech passes."
    d, env, clips, answers = trained
    sf.write(tmp_path/"hiss.wav", np.random.default_rng(0).normal(0, .1, 32_000).astype(np.float32), 16_000)
    example = Path(__file__).resolve().parents[1]/"examples/espeak-kids-are-talking.wav"
    proc, url = start(d, env, "--min-speech", "0.06")
    try:
        r = httpx.post(f"{url}/predict", files={"file": ("hiss.wav", (tmp_path/"hiss.wav").read_bytes())}, timeout=60)
        assert r.status_code == 422 and r.json()["detail"] == "no speech found in hiss.wav (0 ms of speech)", r.text
        r = httpx.post(f"{url}/predict", files={"file": ("speech.wav", example.read_bytes())}, timeout=60)
        assert r.status_code == 200 and r.json()["emotion"] in ("sad", "neutral", "happy", "angry"), r.text
    finally: proc.terminate(); proc.wait(10)
