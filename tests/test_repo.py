"""The repository is consistent: the modules are what the notebooks export, the notebooks are clean,
the generated docs config is current, and CI installs exactly the versions in constraints.txt."""
import difflib, filecmp, json, os, re, shutil, subprocess, sys, tomllib
from importlib import metadata
from pathlib import Path

import pytest

from conftest import GENERATED_SNAPSHOT, NBS, PLACEHOLDERS, ROOT, tool

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("repo")

SKIP = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "_proc", "*.pyc")


def run(cmd: list[str], cwd: Path):
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}  # nbdev-export does nothing when IN_TEST is set
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{' '.join(cmd)} failed (exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def files(d: Path) -> set[str]:
    return {p.relative_to(d).as_posix() for p in d.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts and "_proc" not in p.parts}


def tree_diff(a: Path, b: Path, what: str, fix: str) -> str:
    "Describe how tree `b` (after the command) differs from `a` (as committed); empty when equal."
    fa, fb = files(a), files(b)
    out = [f"{what}: new file {f}" for f in sorted(fb - fa)] + [f"{what}: removed {f}" for f in sorted(fa - fb)]
    for f in sorted(fa & fb):
        if not filecmp.cmp(a / f, b / f, shallow=False):
            d = difflib.unified_diff((a / f).read_text(errors="replace").splitlines(), (b / f).read_text(errors="replace").splitlines(),
                                     f"{f} (committed)", f"{f} (after)", n=1, lineterm="")
            out.append("\n".join(list(d)[:40]))
    return ("\n".join(out) + f"\nFix: {fix}") if out else ""


def project_copy(tmp: Path, *names: str) -> Path:
    "Copy pyproject.toml and the named folders of the repository into `tmp/repo`."
    dst = tmp / "repo"
    dst.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", dst)
    for n in names:
        if (ROOT / n).exists(): shutil.copytree(ROOT / n, dst / n, ignore=SKIP)
    return dst


def test_no_settings_ini():
    assert not (ROOT / "settings.ini").exists(), "nbdev 3 reads [tool.nbdev] in pyproject.toml; a settings.ini makes it stop"


def test_export_leaves_no_diff(tmp_path):
    "`nbdev-export` regenerates ser_nb/ exactly as committed: nobody edited a generated module by hand."
    repo = project_copy(tmp_path, "nbs", "ser_nb")
    run([tool("nbdev-export")], repo)
    diff = tree_diff(ROOT / "ser_nb", repo / "ser_nb", "ser_nb/", "edit the notebook, then run `.venv/bin/nbdev-export`")
    assert not diff, diff


def test_clean_leaves_no_diff(tmp_path):
    "`nbdev-clean` changes no notebook: outputs are kept, but execution counts and metadata are clean."
    repo = project_copy(tmp_path, "nbs")
    run([tool("nbdev-clean")], repo)
    diff = tree_diff(NBS, repo / "nbs", "nbs/", "run `.venv/bin/nbdev-clean`")
    assert not diff, diff


def test_docs_config_is_current():
    "nbs/sidebar.yml and nbs/nbdev.yml are what nbdev generates (tools/build_docs.py and nbdev-docs rewrite them)."
    import yaml
    from nbdev.quarto import _nbdev_yml, IndentDumper
    from nbdev.config import get_config
    from build_docs import notebooks
    cfg = get_config(ROOT)
    vals = {k: cfg[k] for k in ["title", "description", "branch", "git_url", "doc_host", "doc_baseurl"]}
    vals["doc_path"] = cfg.doc_path.name
    assert GENERATED_SNAPSHOT["nbdev.yml"] == _nbdev_yml.format(**vals), \
        "nbs/nbdev.yml is out of date: run `.venv/bin/python tools/build_docs.py` and commit nbs/nbdev.yml"
    assert GENERATED_SNAPSHOT["sidebar.yml"], "nbs/sidebar.yml is missing: run `.venv/bin/python tools/build_docs.py`"
    listed = yaml.safe_load(GENERATED_SNAPSHOT["sidebar.yml"])["website"]["sidebar"]["contents"]
    want = [nb.relative_to(NBS).as_posix() for nb in notebooks(NBS)]
    want = sorted(want, key=lambda n: (Path(n).parent.as_posix(), "00" if Path(n).name.startswith("index.") else Path(n).name))
    assert listed == want, (f"nbs/sidebar.yml lists {listed}, the notebooks are {want}: "
                            "run `.venv/bin/python tools/build_docs.py` and commit nbs/sidebar.yml")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line: continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        assert m, f"constraints.txt: not a `name==version` pin: {line!r}"
        pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(3)
    return pins


def test_constraints_pin_every_dependency():
    "constraints.txt pins every dependency of ser_nb[dev] to a version pyproject.toml allows."
    from packaging.requirements import Requirement
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [*proj["dependencies"], *[r for extra in proj.get("optional-dependencies", {}).values() for r in extra]]
    pins, bad = _pins(), []
    assert "ser-nb" not in pins, "constraints.txt must not pin ser_nb itself (drop the editable line of pip freeze)"
    for r in map(Requirement, reqs):
        name = re.sub(r"[-_.]+", "-", r.name).lower()
        if name == "ser-nb": continue
        if name not in pins: bad.append(f"{r.name} is not pinned")
        elif not r.specifier.contains(pins[name], prereleases=True): bad.append(f"{r.name}=={pins[name]} is outside {r.specifier}")
    assert not bad, "constraints.txt: " + "; ".join(bad) + " (regenerate it from `.venv/bin/pip freeze`, without the ser_nb line)"


def test_installed_versions_match_constraints():
    "The environment running the tests has exactly the versions in constraints.txt (CI installs with -c constraints.txt)."
    bad = []
    for name, ver in _pins().items():
        try: have = metadata.version(name)
        except metadata.PackageNotFoundError: continue  # pinned, but not needed by ser_nb[dev]
        if have != ver: bad.append(f"{name}: installed {have}, constraints.txt has {ver}")
    assert not bad, "; ".join(bad) + " (after a deliberate upgrade, regenerate constraints.txt from `.venv/bin/pip freeze`)"


def test_ci_runs_the_readme_test_command():
    "CI runs the same command the README gives: `bash tools/test.sh`."
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^[^#\n]*\bbash tools/test\.sh\b", ci, re.M), ".ci/run does not call `bash tools/test.sh`"
    readme = (ROOT / "README.md").read_text()
    assert "bash tools/test.sh" in readme, "README.md should give `bash tools/test.sh` as the test command"


def test_no_placeholder_email_anywhere():
    "No made-up e-mail address in what the repository ships (metadata, README, notebooks, modules, site config)."
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in tracked:
        p = ROOT/name
        if p.suffix not in (".py", ".md", ".toml", ".yml", ".ipynb", ".txt", ".json", ".html", ".css") or not p.is_file(): continue
        text = p.read_text(errors="ignore")
        found += [f"{name}: {w}" for w in PLACEHOLDERS if w in text]
    assert not found, "placeholder e-mail domains: " + "; ".join(found)


# every web address the repository names is a real third party's (the project itself has no public address yet)
KNOWN_HOSTS = {"arxiv.org", "creativecommons.org", "doi.org", "en.wikipedia.org", "github.com", "onnx.ai",
               "onnxruntime.ai", "pypi.org", "registry.npmjs.org", "scikit-learn.org", "skops.readthedocs.io", "tspace.library.utoronto.ca",
               "www.iitkgp.ac.in", "zenodo.org", "127.0.0.1", "localhost"}


def test_no_made_up_web_address():
    "No URL for a project site or repository that does not exist: no `[project.urls]`, no site or repo URL."
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "urls" not in proj, f"pyproject.toml names web addresses: {proj['urls']}"
    site = (NBS / "nbdev.yml").read_text()
    assert "http" not in site, "nbs/nbdev.yml names a site or repository address"
    text = subprocess.run(["git", "grep", "-ohE", r"https?://[A-Za-z0-9.-]+"], cwd=ROOT,
                          capture_output=True, text=True).stdout
    hosts = {u.split("://", 1)[1] for u in text.split()}
    unknown = hosts - KNOWN_HOSTS
    assert not unknown, f"web addresses on hosts nobody checked: {sorted(unknown)}"


AUDIO = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".aif", ".aiff")
ALLOWED_AUDIO = {"examples/espeak-kids-are-talking.wav", *(f"examples/ravdess-actor01-{e}.flac" for e in ("neutral", "happy", "sad", "angry"))}


def test_the_only_audio_is_the_attributed_examples():
    "No corpus audio is committed beyond the four RAVDESS example clips the licence allows, with their attribution."
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    audio = {f for f in tracked if f.lower().endswith(AUDIO)}
    assert audio <= ALLOWED_AUDIO, f"audio that may not be in the repository: {sorted(audio - ALLOWED_AUDIO)}"
    ravdess = [ROOT/f for f in ALLOWED_AUDIO if "ravdess" in f]
    assert sum(p.stat().st_size for p in ravdess) < 300_000
    readme = (ROOT/"examples/README.md").read_text()
    assert all(p.name in readme for p in ravdess) and "CC BY-NC-SA 4.0" in readme and "Livingstone" in readme


def test_package_lines_fit_100_columns():
    "ruff (line-length 100, pyproject.toml) finds no longer line in `ser_nb/`, nbdev's docstrings and `__all__` included."
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "json", "--exit-zero", "ser_nb"],
                       cwd=ROOT, capture_output=True, text=True, check=True)
    found = [f"{Path(v['filename']).relative_to(ROOT)}:{v['location']['row']}" for v in json.loads(r.stdout) if v["code"] == "E501"]
    assert not found, f"{len(found)} lines over 100 characters (edit the notebooks, then nbdev-export): " + ", ".join(found[:20])


def test_a_summary_too_long_for_its_module_is_refused(tmp_path):
    "`nbdev-export` (export_procs: ser_nb._nbdev.ModuleSummary) names a chapter whose `> summary` cannot be its docstring line."
    from nbdev.export import nb_export
    from ser_nb._nbdev import ModuleSummary
    nb = json.loads((ROOT/"nbs"/"00_viz.ipynb").read_text())
    nb["cells"][0]["source"] = ["# Plot helpers\n", "\n", "> " + "a summary that goes on " * 5]
    (tmp_path/"long.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match=r"long.ipynb: its summary is 115 characters; ser_nb/viz.py's docstring line fits 94"):
        nb_export(tmp_path/"long.ipynb", lib_path=tmp_path/"lib", procs=[ModuleSummary])


GROUPED = '''
import os, pytest
pytestmark = pytest.mark.xdist_group("one")
@pytest.fixture(scope="module")
def made():
    with open(os.environ["SETUP_LOG"], "a") as f: f.write("set up\\n")
@pytest.mark.parametrize("i", range(6))
def test_grouped(made, i): pass
'''


def test_xdist_groups_hold(tmp_path):
    """tools/test.sh runs pytest-xdist with `--dist loadgroup`, and every test module but the notebooks' is one group, so
    that its module fixtures (the docs build, the wheel, a container image) are made once: on two workers, a grouped
    module of six tests beside ungrouped ones sets its fixture up once. (pytest 9 with pytest-xdist 3.8 set it up on
    both workers, and again each time a worker came back to the module.)"""
    assert "--dist loadgroup" in (ROOT/"tools/test.sh").read_text()
    ungrouped = [p.name for p in sorted((ROOT/"tests").glob("test_*.py"))
                 if p.name != "test_notebooks.py" and not re.search(r"^pytestmark = .*pytest\.mark\.xdist_group\(", p.read_text(), re.M)]
    assert not ungrouped, f"test modules outside an xdist group: {ungrouped}"
    (tmp_path/"test_grouped.py").write_text(GROUPED)
    (tmp_path/"test_free.py").write_text("import pytest\n@pytest.mark.parametrize('i', range(6))\ndef test_free(i): pass\n")
    env = {**os.environ, "SETUP_LOG": str(tmp_path/"log.txt")}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
                        str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:]
    assert (tmp_path/"log.txt").read_text().splitlines() == ["set up"], (tmp_path/"log.txt").read_text()
