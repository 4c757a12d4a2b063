"Shared pytest setup for ser_nb's tests (run them all with `bash tools/test.sh`)."
import os, shutil, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
sys.path.insert(0, str(ROOT / "tools"))  # build_docs, browser_check

# The generated config files as they are before any test runs: the docs build regenerates them in
# place, so tests/test_repo.py checks this snapshot, which is what the developer committed.
GENERATED_SNAPSHOT = {n: (NBS / n).read_text() if (NBS / n).exists() else None for n in ("sidebar.yml", "nbdev.yml")}


def in_ci() -> bool:
    "Whether we run in CI (`CI=true`), where nothing may be skipped for a missing tool."
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def tool(name: str) -> str:
    "The path of a console script of this environment (`nbdev-test`, ...): beside the running Python, else on PATH."
    p = Path(sys.executable).parent / name
    if p.exists(): return str(p)
    found = shutil.which(name)
    if not found: pytest.fail(f"{name} not found beside {sys.executable} nor on PATH", pytrace=False)
    return found


def notebooks() -> list[Path]:
    "The notebooks of the book, as the docs build finds them."
    from build_docs import notebooks as nbl
    return nbl(NBS)


def pytest_report_header(config):
    return [f"SER_DATA={os.environ.get('SER_DATA') or '(unset: data_root() falls back to ./data)'}; CI={os.environ.get('CI', '')}"]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def keep_few(csv: Path, per_emotion: int) -> int:
    """Cut a split CSV of `ser prepare` down to `per_emotion` clips of each emotion, spread over its speakers, in place.

    The recipe tests run a chapter's command verbatim on such a CSV: every flag is exercised in seconds, while what the
    recipe scores on a full split is measured by the stored runs the chapter prints. Returns the clips kept."""
    import pandas as pd
    df = pd.read_csv(csv)
    df = df.assign(_k=df.groupby(["emotion", "speaker"]).cumcount()).sort_values(["_k", "speaker"], kind="stable")
    df = df.groupby("emotion", sort=False).head(per_emotion).drop(columns="_k").sort_index()
    df.to_csv(csv, index=False)
    return len(df)


# made-up e-mail domains that must not ship (written in pieces, so that this file does not hold them). The repository and
# docs addresses in pyproject.toml are not real yet either, but nbdev builds the site's links from them: see the README.
PLACEHOLDERS = ("example" + ".org", "example" + ".com")


# `ser` as a user runs it, in a fresh process of this environment
SER = [sys.executable, "-c", "import sys; from ser_nb.cli import main; sys.exit(main())"]
DATA = Path(os.environ.get("SER_DATA", "data"))


def run_ser(*args, cache=None, cwd=None, gate=True):
    """Run `ser ARGS` in a fresh process; `cache` is its SER_CACHE. The toy corpora are sine tones, which the speech gate
    (chapter 01b) refuses: `gate=False` lifts it for `ser predict`, so that a test reaches the model."""
    if not gate and args[0] == "predict" and "--min-speech" not in args: args = (*args, "--min-speech", "0")
    env = {**os.environ, **({"SER_CACHE": str(cache)} if cache else {})}
    return subprocess.run([*SER, *map(str, args)], capture_output=True, text=True, encoding="utf-8", env=env, cwd=cwd,
                          timeout=600)


def prepared_toy(d: Path) -> Path:
    "A generated RAVDESS-like tree under `d` (6 speakers x 4 emotions x 2 clips, all of normal intensity), split by `ser prepare` into `d/csv`."
    from ser_nb.data import make_toy_corpus
    root = make_toy_corpus(d/"ravdess", "ravdess", n_speakers=6, per_emotion=2)
    r = run_ser("prepare", "ravdess", root, "--out", d/"csv", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    return root
