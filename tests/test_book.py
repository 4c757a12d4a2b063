"""The book's shape: chapters in dependency order, openings as the style guide asks, code cells a reader can take in."""
import ast, json, re
from pathlib import Path

import pytest

from conftest import NBS

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("book")

CHAPTERS = sorted(NBS.glob("[0-9]*.ipynb"))
MAX_LINES = 45  # "no code cell much over 40 lines"


def cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text(encoding="utf-8"))["cells"]


def source(c: dict) -> str:
    return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]


def module_of(nb: Path) -> str | None:
    m = re.search(r"#\|\s*default_exp\s+(\S+)", "\n".join(source(c) for c in cells(nb) if c["cell_type"] == "code"))
    return m.group(1) if m else None


def test_chapters_use_only_earlier_chapters():
    "Every `ser_nb.X` a chapter imports (even lazily, inside a function) is exported by that chapter or an earlier one."
    defined, late = {}, []
    for i, nb in enumerate(CHAPTERS):
        if (mod := module_of(nb)): defined[mod] = i
    for i, nb in enumerate(CHAPTERS):
        code = "\n".join(source(c) for c in cells(nb) if c["cell_type"] == "code")
        for used in set(re.findall(r"(?:from|import)\s+ser_nb\.(\w+)", code)):
            if used in defined and defined[used] > i: late.append(f"{nb.name} imports ser_nb.{used} ({CHAPTERS[defined[used]].name})")
    assert not late, "chapters must read front to back: " + "; ".join(late)


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_opening(nb):
    "A chapter opens with `# Title` and a `> summary`, then `#| default_exp`."
    cs = cells(nb)
    head = source(cs[0]).strip().splitlines()
    assert cs[0]["cell_type"] == "markdown" and head[0].startswith("# "), f"{nb.name}: the first cell is not '# Title'"
    assert any(l.startswith("> ") for l in head[1:]), f"{nb.name}: no '> one-line summary' under the title"
    assert cs[1]["cell_type"] == "code" and source(cs[1]).strip().startswith("#| default_exp"), f"{nb.name}: cell 2 is not #| default_exp"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_code_cells_are_short(nb):
    "One idea per cell: no code cell over MAX_LINES lines."
    long = [f"cell {i} ({n} lines)" for i, c in enumerate(cells(nb))
            if c["cell_type"] == "code" and (n := len(source(c).splitlines())) > MAX_LINES]
    assert not long, f"{nb.name}: code cells over {MAX_LINES} lines: {', '.join(long)}"


def test_each_chapter_writes_only_its_own_module():
    "No `#| export other_module` cell: a later chapter must not write into an earlier chapter's module."
    strays = [f"{nb.name} cell {i} exports to {m.group(1)}" for nb in CHAPTERS for i, c in enumerate(cells(nb)) if c["cell_type"] == "code"
              and (m := re.match(r"#\|[ \t]*exports?[ \t]+(\S+)[ \t]*$", source(c).lstrip().split("\n")[0])) and m.group(1) != module_of(nb)]
    assert not strays, "; ".join(strays)


MAX_EXPORTED = 30  # lines of an exported cell: one definition a reader takes in at once
TRUE_TEST = re.compile(r"test_eq\((?:[^()]|\([^()]*\))*(?:<|>|==|!=| in | is |all\(|any\()(?:[^()]|\([^()]*\))*,\s*(?:True|False)\)")


def exported(c: dict) -> bool:
    return c["cell_type"] == "code" and re.match(r"#\|\s*exports?\b", source(c)) is not None


def definitions(c: dict) -> int:
    "Top-level functions and classes (each `@patch`ed method counts) in a code cell."
    code = "\n".join(l for l in source(c).splitlines() if not l.lstrip().startswith(("#|", "%", "!")))
    return sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in ast.parse(code).body)


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_exported_cells_a_reader_can_follow(nb):
    "An exported cell holds one definition in at most 30 lines, and prose or an example comes before the next one."
    cs, bad = cells(nb), []
    for i, c in enumerate(cs):
        if not exported(c): continue
        if (n := len(source(c).splitlines())) > MAX_EXPORTED: bad.append(f"cell {i}: {n} lines")
        if (k := definitions(c)) > 1: bad.append(f"cell {i}: {k} definitions")
        if i + 1 < len(cs) and exported(cs[i + 1]): bad.append(f"cell {i}: the next cell exports too")
    assert not bad, f"{nb.name}: " + "; ".join(bad)


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.name)
def test_tests_compare_values(nb):
    "`test_eq(a < b, True)` prints nothing useful when it fails: tests compare values, or assert with a message."
    bad = [f"cell {i}: {m.group(0)[:70]}" for i, c in enumerate(cells(nb)) if c["cell_type"] == "code"
           for m in TRUE_TEST.finditer(source(c))]
    assert not bad, f"{nb.name}: " + "; ".join(bad)


NOTEST = re.compile(r"^\s*#\|\s*notest\s*$", re.M)
SOLUTION = re.compile(r'\A#\|\s*code-fold:\s*true\s*\n#\|\s*code-summary:\s*"Solution"')
CHECK = re.compile(r"\b(?:test_eq|test_ne|test_close|test_fail|test_eq_type|test_shuffled)\(|^\s*assert\b", re.M)


@pytest.mark.parametrize("nb", [nb for nb in CHAPTERS if not nb.name.startswith("00_")], ids=lambda p: p.name)
def test_exercises_with_solutions_that_check_themselves(nb):
    "A chapter ends with `## Exercises`: two or more, each with a folded solution that CI runs and that checks its claim."
    cs = cells(nb)
    heads = [i for i, c in enumerate(cs) if c["cell_type"] == "markdown" and source(c).strip() == "## Exercises"]
    assert heads, f"{nb.name}: no '## Exercises' heading cell"
    rest = cs[heads[-1] + 1:]
    tasks = [c for c in rest if c["cell_type"] == "markdown" and re.match(r"\*\*Exercise \d+", source(c))]
    solutions = [source(c) for c in rest if c["cell_type"] == "code" and SOLUTION.match(source(c))]
    assert len(tasks) >= 2 and len(solutions) == len(tasks), f"{nb.name}: {len(tasks)} exercises, {len(solutions)} solutions"
    bad = [s.splitlines()[2][:60] for s in solutions if not CHECK.search(s) or NOTEST.search(s)]
    assert not bad, f"{nb.name}: solutions that check nothing, or that CI skips (#| notest): {bad}"
