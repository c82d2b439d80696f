"""Chinese first: every text the pages and the code mark for translation has a Chinese
translation (not fuzzy, not empty), and the compiled catalogue (.mo, what Django reads) says
the same as the source (.po)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

# {% translate "…" %} / {% trans "…" %} with a literal (the forms the templates use).
TEMPLATE_TAG = re.compile(r"""{%\s*(?:translate|trans)\s+"((?:[^"\\]|\\.)*)"(?:\s[^%]*)?%}""")
# _("…"), gettext("…"), gettext_lazy("…"), pgettext is not used; single-line literals only.
CODE_CALL = re.compile(r"""\b(?:_|gettext|gettext_lazy)\(\s*"((?:[^"\\\n]|\\.)*)"\s*\)""")


def entries() -> dict[str, tuple[str, bool]]:
    """msgid -> (msgstr, fuzzy) for the singular entries of the .po (obsolete ones skipped)."""
    out = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        text = "\n".join(line for line in lines if not line.startswith("#"))
        match = re.match(r'msgid ((?:".*"\n?)+)msgstr ((?:".*"\n?)+)', text)
        if match is None:
            continue
        msgid, msgstr = (_joined(group) for group in match.groups())
        if msgid:
            out[msgid] = (msgstr, fuzzy)
    return out


def _joined(quoted: str) -> str:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', quoted)
    return "".join(parts).encode("latin-1", "backslashreplace").decode("unicode_escape")


def _unescape(literal: str) -> str:
    return literal.encode("latin-1", "backslashreplace").decode("unicode_escape")


def test_every_entry_is_translated_and_none_is_fuzzy():
    found = entries()
    assert len(found) > 200
    untranslated = sorted(msgid for msgid, (msgstr, _) in found.items() if not msgstr)
    fuzzy = sorted(msgid for msgid, (_, is_fuzzy) in found.items() if is_fuzzy)
    assert untranslated == [] and fuzzy == []


def test_the_compiled_catalogue_says_what_the_source_says():
    with MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = {
        msgid: (msgstr, catalogue.gettext(msgid))
        for msgid, (msgstr, _) in entries().items()
        if catalogue.gettext(msgid) != msgstr
    }
    assert stale == {}, "run: .venv/bin/python manage.py compilemessages -l zh_Hans"


def test_every_marked_text_of_the_pages_and_the_code_is_in_the_catalogue():
    marked = set()
    for path in (ROOT / "templates").rglob("*.html"):
        marked |= {_unescape(m) for m in TEMPLATE_TAG.findall(path.read_text(encoding="utf-8"))}
    for path in (ROOT / "layers").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        marked |= {_unescape(m) for m in CODE_CALL.findall(path.read_text(encoding="utf-8"))}
    assert len(marked) > 100  # the extractor finds the texts at all
    missing = sorted(marked - set(entries()))
    assert missing == [], "run makemessages -l zh_Hans and translate: " + "; ".join(missing)
