"""Every string the pages write is in Chinese on a Chinese page: `makemessages` over a copy of
the sources finds no string without a translation and none marked fuzzy (a guess it made), and
the compiled catalogue (.mo, what Django reads) says what the source (.po) says."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("manage.py", "geo_service", "layers", "templates", "locale", "tools")
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
ENTRY = re.compile(r'(?:^|\n)((?:#.*\n)*)msgid ((?:".*"\n)+)msgstr ((?:".*"(?:\n|$))+)')


def _untranslated(po: str) -> list[str]:
    out = []
    for block in po.split("\n\n"):
        if block.startswith("#~"):
            continue  # obsolete: no longer in the sources
        match = ENTRY.search(block + "\n")
        if not match:
            continue
        msgid = "".join(re.findall(r'"(.*)"', match.group(2)))
        msgstr = "".join(re.findall(r'"(.*)"', match.group(3)))
        if msgid and (not msgstr or "fuzzy" in match.group(1)):
            out.append(msgid)
    return out


def test_every_page_string_has_its_chinese(tmp_path):
    for part in PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / part)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    po = (tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert _untranslated(po) == []


def test_the_committed_catalogue_is_complete():
    po = (ROOT / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert _untranslated(po) == []
    assert "fuzzy" not in po


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


def test_the_compiled_catalogue_says_what_the_source_says():
    with MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = {
        msgid: (msgstr, catalogue.gettext(msgid))
        for msgid, (msgstr, _) in entries().items()
        if catalogue.gettext(msgid) != msgstr
    }
    assert stale == {}, "run: .venv/bin/python manage.py compilemessages -l zh_Hans"
