"""The container image (../Containerfile): built with Podman, started, asked over HTTP.

`tools/container.sh` bootstraps the base `localhost/debian:bookworm` with debootstrap when it is missing (this machine
reaches no registry), makes the wheels on the host into a temporary build context, and builds; the test then starts the
image on a free port with a token and checks what a user gets: /health answers, /predict with the token gives the same
emotion and probabilities as `ser predict --json` here, without the token a 401, the server runs as a non-root user, the
image's own HEALTHCHECK passes, and `ser timeline` and the classical model work inside it. It writes what it measured
(image size, build and start-up time, its own wall time) to nbs/results/container.json, which the README shows.

Slow (about 4 minutes on 2 cores: 2-3 of them the build): it runs only where `podman` is on PATH and works, and is skipped
otherwise (and with SER_CONTAINER_TEST=0). It builds without Podman's layer cache (`--layers=false`), so the build time
is that of a full build, with a warm pip cache and an existing base. It leaves the image `localhost/ser_nb:latest`
behind (for `tools/container.sh run`), removes the image it replaced, and removes its container."""
import datetime, json, os, shutil, socket, subprocess, sys, time, urllib.error, urllib.request, uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/"tools"/"container.sh"
EXAMPLE = ROOT/"examples"/"ravdess-actor01-angry.flac"
LONG = ROOT/"examples"/"espeak-kids-are-talking.wav"
RESULTS = ROOT/"nbs"/"results"/"container.json"
IMAGE = "localhost/ser_nb:latest"
BASE = os.environ.get("BASE", "localhost/debian:bookworm")
FLAGS = ["--cgroup-manager=cgroupfs"]  # as tools/container.sh: no systemd here
RUN = ["podman", *FLAGS, "--runtime", "runc"]
CONF = Path(os.environ.get("TMPDIR", "/tmp"))/"ser_nb-containers.conf"


def podman_works() -> str | None:
    "None when Podman can build and run here, else why not."
    if os.environ.get("SER_CONTAINER_TEST", "").strip() == "0": return "SER_CONTAINER_TEST=0"
    if not shutil.which("podman"): return "podman is not on PATH (apt-get install -y podman runc debootstrap)"
    r = subprocess.run(["podman", *FLAGS, "info", "--format", "{{.Store.GraphDriverName}}"], capture_output=True,
                       text=True, timeout=60, env=env())
    if r.returncode != 0: return f"podman info fails: {r.stderr.strip()[-300:]}"
    if not shutil.which("runc"): return "runc is not on PATH (crun fails on this machine's cgroups)"
    return None


def env() -> dict:
    "The environment of the podman commands: the containers.conf without default ulimits, as tools/container.sh."
    if not os.environ.get("CONTAINERS_CONF"): CONF.write_text("[containers]\ndefault_ulimits = []\n")
    return {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF") or str(CONF)}


def sh(*cmd, timeout=900, check=True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env(),
                       stdin=subprocess.DEVNULL, **kw)
    if check: assert r.returncode == 0, f"{' '.join(map(str, cmd))}: rc {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return r


def image_id(name: str) -> str | None:
    r = sh("podman", *FLAGS, "image", "inspect", "--format", "{{.Id}}", name, check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def request(url: str, data: bytes | None = None, headers: dict | None = None, timeout=60) -> tuple[int, dict]:
    "(status, JSON body) of a GET, or a POST of `data`; HTTP errors are answers too."
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r: return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read() or b"{}")


def http_status(url: str) -> int:
    "The HTTP status of a GET of `url`."
    try:
        with urllib.request.urlopen(url, timeout=60) as r: return r.status
    except urllib.error.HTTPError as e: return e.code


def multipart(path: Path) -> tuple[bytes, str]:
    "A multipart/form-data body with `path` as the field `file`, and its content type."
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


reason = podman_works()
pytestmark = [pytest.mark.skipif(reason is not None, reason=f"container test skipped: {reason}"), pytest.mark.xdist_group("container")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    "Base, wheels, build, start: the running container's name, URL, token, and the times measured."
    t0 = time.perf_counter()
    times = {}
    if not image_id(BASE):
        t = time.perf_counter(); sh("bash", SCRIPT, "base", timeout=900)
        times["base_seconds"] = round(time.perf_counter() - t, 1)
    ctx = tmp_path_factory.mktemp("context")
    t = time.perf_counter(); sh("bash", SCRIPT, "context", ctx, timeout=900)
    times["wheels_seconds"] = round(time.perf_counter() - t, 1)
    assert (ctx/"wheels").is_dir() and list((ctx/"wheels").glob("ser_nb-*.whl"))
    old = image_id(IMAGE)
    t = time.perf_counter()
    sh("podman", *FLAGS, "build", "--layers=false", "--format", "docker", "--isolation", "chroot", "--build-arg", f"BASE={BASE}",
       "-t", IMAGE, "-f", ctx/"Containerfile", ctx, timeout=1800)
    times["build_seconds"] = round(time.perf_counter() - t, 1)
    new = image_id(IMAGE)
    if old and old != new: sh("podman", *FLAGS, "rmi", old, check=False)  # the image this build replaced, if unused
    shutil.rmtree(ctx, ignore_errors=True)

    name, port, token = f"ser_nb-test-{uuid.uuid4().hex[:8]}", free_port(), uuid.uuid4().hex
    t = time.perf_counter()
    r = subprocess.run([*RUN, "run", "-d", "--name", name, "--ulimit", "host", "-e", "SER_TOKEN",
                        "-p", f"127.0.0.1:{port}:8000", IMAGE], capture_output=True, text=True, timeout=120,
                       env={**env(), "SER_TOKEN": token}, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-3000:]
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if request(url + "/health", timeout=2)[0] == 200: break
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError): pass
            state = sh("podman", *FLAGS, "inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip()
            assert state == "true", "the container stopped:\n" + sh("podman", *FLAGS, "logs", name, check=False).stderr[-3000:]
            assert time.perf_counter() - t < 180, "no answer on /health within 180 s"
            time.sleep(0.2)
        times["startup_seconds"] = round(time.perf_counter() - t, 2)
        yield {"name": name, "url": url, "token": token, "times": times, "t0": t0,
               "image_bytes": int(sh("podman", *FLAGS, "image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)}
    finally:
        sh("podman", *FLAGS, "rm", "-f", name, check=False, timeout=120)


def test_health_answers_and_needs_no_token(served):
    status, health = request(served["url"] + "/health")
    assert status == 200 and health["status"] == "ok" and health["model"] and health["auth"] is True, health
    # the page's in-browser mode works in the image (onnxruntime-web is inside it), its model file behind the token
    assert health["in_browser"] is True, health
    assert [http_status(served["url"] + f) for f in ("/web/ort/ort.wasm.min.js", "/web/model.onnx")] == [200, 401]


def test_predict_with_the_token_answers_as_ser_predict_here(served):
    body, ctype = multipart(EXAMPLE)
    status, got = request(served["url"] + "/predict", body, {"Content-Type": ctype, "Authorization": f"Bearer {served['token']}"})
    assert status == 200, got
    (want,) = host_ser("predict", EXAMPLE)
    assert got["emotion"] == want["emotion"] == "angry"
    assert set(got["probabilities"]) == set(want["probabilities"])
    for label, p in want["probabilities"].items():
        assert abs(got["probabilities"][label] - p) < 1e-4, (label, got["probabilities"][label], p)
    assert abs(got["confidence"] - want["confidence"]) < 1e-4


def test_without_the_token_the_api_refuses(served):
    body, ctype = multipart(EXAMPLE)
    assert request(served["url"] + "/predict", body, {"Content-Type": ctype})[0] == 401
    assert request(served["url"] + "/predict", body, {"Content-Type": ctype, "Authorization": "Bearer wrong"})[0] == 401


def test_the_server_runs_as_a_non_root_user(served):
    uid = sh("podman", *FLAGS, "exec", served["name"], "id", "-u").stdout.strip()
    assert uid.isdigit() and int(uid) != 0
    top = sh("podman", *FLAGS, "top", served["name"], "user", "args", check=False).stdout
    assert "root" not in top, top


def test_the_image_health_check_passes(served):
    cfg = json.loads(sh("podman", *FLAGS, "image", "inspect", "--format", "{{json .Config.Healthcheck}}", IMAGE).stdout)
    assert cfg and "/health" in " ".join(cfg["Test"]), cfg
    # the check itself, as the engine would run it (podman's timer needs systemd, absent here)
    r = sh(*RUN, "exec", served["name"], *cfg["Test"][1:], check=False)
    assert r.returncode == 0, r.stderr[-2000:]


def host_ser(*args) -> list[dict]:
    "The JSON lines `ser ARGS --json` prints here, with the repository's environment."
    ser = Path(sys.executable).parent/"ser"
    r = subprocess.run([str(ser if ser.exists() else "ser"), *map(str, args), "--json"], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def close(got: dict, want: dict, tol=1e-4) -> bool:
    return got["emotion"] == want["emotion"] and all(abs(got["probabilities"][k] - p) < tol
                                                     for k, p in want["probabilities"].items())


def test_the_classical_model_and_the_timeline_work_inside(served):
    # the example clips are not in the image: copied in
    sh("podman", *FLAGS, "cp", EXAMPLE, f"{served['name']}:/tmp/clip.flac")
    sh("podman", *FLAGS, "cp", LONG, f"{served['name']}:/tmp/long.wav")
    def inside(*args) -> list[dict]:
        out = sh(*RUN, "exec", served["name"], "ser", *args, "--json", timeout=300).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (got,), (want,) = inside("predict", "classical", "/tmp/clip.flac"), host_ser("predict", "classical", EXAMPLE)
    assert close(got, want), (got, want)
    # the timeline, with its CSV, JSON and matplotlib plot written inside
    got, want = inside("timeline", "--out", "/tmp/tl", "/tmp/long.wav"), host_ser("timeline", LONG)
    assert got and len(got) == len(want) and all(close(g, w) and abs(g["start"] - w["start"]) < 1e-3 for g, w in zip(got, want))
    sh(*RUN, "exec", served["name"], "test", "-s", "/tmp/tl.png", "-a", "-s", "/tmp/tl.csv")


def test_zz_write_the_measurements(served):
    "Last: the numbers for the README (nbs/results/container.json)."
    out = {"image": IMAGE, "base": BASE, "image_bytes": served["image_bytes"], **served["times"],
           "test_seconds": round(time.perf_counter() - served["t0"], 1),
           "measured": datetime.date.today().isoformat(),
           "machine": f"{os.cpu_count()} CPU cores, podman {sh('podman', '--version').stdout.split()[-1]}"}
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    assert served["image_bytes"] < 1e9, f"the image is {served['image_bytes']/1e9:.2f} GB, over the 1 GB target"
