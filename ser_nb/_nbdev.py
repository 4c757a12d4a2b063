"""How `nbdev-export` writes this package: lines of at most 100 characters (`export_procs`).

nbdev writes two lines of each module itself. The docstring is the chapter's `> summary` on one
line: `ModuleSummary` refuses a summary that would not fit. `__all__` is wrapped at a width nbdev
fixes at 120 (`nbdev.maker.TextWrapper(width=120)`, not a setting): importing this module, which
`nbdev-export` does to find the processor, makes that wrapper keep `__all__` within `WIDTH`.
Nothing here runs when the package is used."""
import textwrap

import nbdev.maker
from nbdev.process import Processor

WIDTH = 100  # as ruff's line-length in pyproject.toml
ALL_PREFIX = "__all__ = "  # what nbdev writes before the wrapped list's first line


class _AllWrapper(textwrap.TextWrapper):
    "nbdev's wrapper of `__all__`, at `WIDTH` with its prefix, whatever width nbdev asks for."
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "width": WIDTH - len(ALL_PREFIX)})


nbdev.maker.TextWrapper = _AllWrapper


class ModuleSummary(Processor):
    "nbdev export processor: a chapter's `> summary` fits the docstring line nbdev makes of it."
    def begin(self): self.module = None
    def _default_exp_(self, cell, name): self.module = name

    def end(self):
        title = next((c.source for c in self.nb.cells if c.cell_type == "markdown"
                      and (c.source or "").startswith("# ")), "")
        summary = next((line[2:] for line in title.splitlines() if line.startswith("> ")), "")
        if self.module and len(f'"""{summary}"""') > WIDTH:
            raise ValueError(f"{self.nb.path_}: its summary is {len(summary)} characters; "
                             f"ser_nb/{self.module}.py's docstring line fits {WIDTH - 6}")
