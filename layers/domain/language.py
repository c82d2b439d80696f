"""The page's language: every label is a zh/en pair, and the active language picks one."""

from django.utils import translation


def lang() -> str:
    """'en' or 'zh': which of each zh/en pair the active language shows."""
    return "en" if (translation.get_language() or "").startswith("en") else "zh"


def pick(pair: tuple[str, str]) -> str:
    return pair[1] if lang() == "en" else pair[0]
