"""Find the numbers a chapter's prose states that nothing in the notebook computes or checks.

A number in a chapter's markdown is *covered* when it is

* glued: written as ``{glue:text}`name``` (the rendered book shows the computed value), or
* a literal of the notebook's code: a setting the code uses (``lr=0.05``, ``seq_len = 50``) or
  a bound an ``assert`` checks, so the number the reader sees is the one that ran.

Everything else — "about 0.6", "climbs from 24 to 41", "$10^{-15}$ of the gradient" — is an
uncovered number: the reader cannot tell whether it is still true. Ignored: display math (an
equation's constants), citations and cross-references (``{cite:p}`...```), years, "chapter N",
heading and list numbers and the integers 0–3 and 10 (counting words and the base of a power).

Run ``python tests/prose_numbers.py [book/05_*.ipynb ...]`` for a report per chapter.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Integers too generic to be a claim: counting words, the base of a power of ten.
EXEMPT = {0.0, 1.0, 2.0, 3.0, 10.0}

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")  # {glue:text}`x:.2f`, {cite:p}`...`, {doc}`...`
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_DIRECTIVE_OPTION = re.compile(r"^:[\w-]+:.*$", re.M)
_HEADING = re.compile(r"^#+ .*$", re.M)
_LIST_MARKER = re.compile(r"^\s*\d+\.(?=\s)", re.M)
_CHAPTER_REF = re.compile(
    r"\b(?:[Cc]hapters?|[Pp]arts?|[Ss]ections?|[Ff]igures?)\s+[\dIVX]+"
    r"(?:\s*(?:,|and|–|-)\s*[\dIVX]+)*"
)
_YEAR = re.compile(r"(?<![\d.])(?:19[5-9]\d|20[0-3]\d)(?!\d|\.\d)")
_POWER = re.compile(r"10\^\{?\s*([−-]?\s*\d+)\s*\}?")  # 10^{-6}, 10^-6, 10^9
_TIMES_POWER = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\\times|×)\s*1e")
_NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?(?![\w])")


def _value(token: str) -> float:
    """The value of a number as written (``−`` is a minus sign, ``,`` a thousands separator)."""
    return float(token.replace("−", "-").replace(",", ""))


def prose_numbers(markdown: str) -> list[tuple[str, float]]:
    """Return the numbers a piece of markdown states, as (text, value), in order."""
    text = _FENCE.sub(" ", markdown)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _ROLE.sub(" ", text)
    text = _LINK_TARGET.sub("]", text)
    text = _DIRECTIVE_OPTION.sub(" ", text)
    text = _HEADING.sub(" ", text)
    text = _LIST_MARKER.sub(" ", text)
    text = _CHAPTER_REF.sub(" ", text)
    text = _YEAR.sub(" ", text)
    text = re.sub(r"(\d),(\d{3})(?!\d)", r"\1\2", text)  # 5,000 -> 5000
    text = _POWER.sub(lambda m: f" 1e{m.group(1).replace(' ', '').replace('−', '-')} ", text)
    text = _TIMES_POWER.sub(lambda m: f"{m.group(1)}e", text)  # 3\times 1e-5 -> 3e-5
    found = []
    for match in _NUMBER.finditer(text):
        token = match.group(0)
        try:
            found.append((token, _value(token)))
        except ValueError:
            continue
    return found


def code_numbers(code: str) -> set[float]:
    """Return every numeric literal in code (settings, bounds, strings), signs dropped."""
    values = set()
    for token in re.findall(r"(?<![\w.])\d[\d_]*(?:\.\d*)?(?:e[-+]?\d+)?", code):
        try:
            values.add(abs(float(token.replace("_", ""))))
        except ValueError:
            continue
    return values


def _covered(value: float, known: set[float]) -> bool:
    """Whether ``value`` is exempt or equals (to 4 significant digits) a code literal."""
    v = abs(value)
    if v in EXEMPT:
        return True
    return any(abs(v - k) <= 1e-4 * max(v, k) for k in known)


def uncovered(path: Path) -> list[str]:
    """Return the uncovered numbers of one notebook, as ``"cell N: text"`` strings."""
    nb = json.loads(path.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    fenced = "\n".join(
        m.group(0)
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
        for m in _FENCE.finditer("".join(c["source"]))
    )
    known = code_numbers(code + "\n" + fenced)
    missing = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for token, value in prose_numbers("".join(cell["source"])):
            if not _covered(value, known):
                missing.append(f"cell {i}: {token}")
    return missing


def chapters() -> list[Path]:
    """The book's chapter notebooks."""
    return sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or chapters()
    total = 0
    for path in paths:
        missing = uncovered(path)
        total += len(missing)
        print(f"{path.name}: {len(missing)} uncovered" + "".join(f"\n  {m}" for m in missing))
    print(f"{total} uncovered numbers")
