"""A page for every feature: /features/<layer>/<id>/ (layers/query/feature.py reads it)."""

from __future__ import annotations

from django.http import Http404


def feature(request, slug: str, pk: int):
    raise Http404("No such feature.")
