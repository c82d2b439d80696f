"""The page's language: every label is a zh/en pair, and the active language picks one."""

from django.utils import translation
from django.utils.functional import lazy


def lang() -> str:
    """'en' or 'zh': which of each zh/en pair the active language shows."""
    return "en" if (translation.get_language() or "").startswith("en") else "zh"


def pick(pair: tuple[str, str]) -> str:
    return pair[1] if lang() == "en" else pair[0]


def _pick_now(zh: str, en: str) -> str:
    return en if lang() == "en" else zh


_lazy_pick = lazy(_pick_now, str)


def both(zh: str, en: str):
    """A zh/en pair that reads as one string in the language active when it is shown (model
    and field names, choices: the admin, forms and `__str__` speak the page's language). Stored
    definitions (migrations) see the Chinese, the default language."""
    return _lazy_pick(zh, en)
