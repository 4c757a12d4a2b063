"""Write README.md from nbs/index.ipynb (what `nbdev-readme` does, without Quarto).

Markdown cells are copied; code cells not marked `#| hide` become ```python blocks followed by their
text output, except that a cell marked `#| echo: false` gives only its Markdown output (as on the site). `--check` exits 1 if README.md is not what the notebook gives.
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _text(output:dict)->str:
    if output.get("output_type") == "stream": return "".join(output["text"])
    return "".join(output.get("data", {}).get("text/plain", ""))

def _markdown(cell:dict)->str:
    "The Markdown outputs of a code cell (e.g. a table built from stored results), as they are."
    return "\n\n".join("".join(o["data"]["text/markdown"]).strip() for o in cell.get("outputs", []) if "text/markdown" in o.get("data", {}))

def readme(nb_path:Path=ROOT/"nbs/index.ipynb")->str:
    "README text for the notebook at `nb_path`."
    parts = []
    for cell in json.loads(nb_path.read_text())["cells"]:
        src = "".join(cell["source"]).strip()
        if cell["cell_type"] == "markdown": parts.append(src); continue
        lines = src.splitlines()
        if any(l.replace(" ", "").startswith("#|hide") for l in lines): continue
        if any(l.replace(" ", "") == "#|echo:false" for l in lines):  # the output without the code, as on the site
            if (md := _markdown(cell)): parts.append(md)
            continue
        code = "\n".join(l for l in lines if not l.startswith("#|")).strip()
        if not code: continue
        parts.append(f"```python\n{code}\n```")
        out = "".join(_text(o) for o in cell.get("outputs", [])).strip()
        if out: parts.append(f"```\n{out}\n```")
    body = "\n\n".join(parts) + "\n"
    # chapter links (and the glossary's) work on GitHub
    return re.sub(r"\]\(((?:\d\d\w*|glossary)\.ipynb[^)]*)\)", r"](nbs/\1)", body)

if __name__ == "__main__":
    text, dest = readme(), ROOT/"README.md"
    if "--check" in sys.argv:
        ok = dest.is_file() and dest.read_text() == text
        print("README.md is up to date" if ok else "README.md differs from nbs/index.ipynb: run python tools/make_readme.py")
        sys.exit(0 if ok else 1)
    dest.write_text(text)
    print(f"wrote {dest}")
