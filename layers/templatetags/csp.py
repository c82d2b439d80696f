"""{{ html|nonced:csp_nonce }}: our generated markup (folium's parts) with the request's CSP
nonce on each <script> and <style> element, so the policy lets exactly these run."""

import re

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

_OPENING = re.compile(r"<(script|style)\b(?![^>]*\bnonce=)", re.I)


@register.filter
def nonced(html, nonce: str):
    """Only for markup the service generated itself (never for user text)."""
    if not nonce:  # no request (a published static site): the markup as it is
        return mark_safe(str(html))  # noqa: S308 (our generated markup, see above)
    return mark_safe(_OPENING.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', str(html)))  # noqa: S308
