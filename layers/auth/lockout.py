"""The sign-in lockout (django-axes) that locks out the attacker, not the office.

Thirty staff sign in from behind one NAT address, and usernames are predictable, so neither a
username nor an address alone may decide a lockout:

- failures are counted per (username, address) pair (AXES_LOCKOUT_PARAMETERS): after
  AXES_FAILURE_LIMIT (5) wrong passwords that pair waits AXES_COOLOFF_MINUTES (15); the same
  user from another address, and every colleague behind the same address, still sign in;
- an address that sprays many usernames (names that do not exist included) is stopped by a
  separate, much higher limit, AXES_ADDRESS_FAILURE_LIMIT (50) failures in the cool-off window,
  summed over every username it tried.

A locked person sees the sign-in page again with the time they may try again (429 with Retry-After;
JSON on the machine channels). Attempts while locked are not counted
(AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT off), so that time holds. Editors unlock in the
admin: *Axes › Access attempts* lists every pair and address with failures and when its pause
ends; select rows and run the action "解除登录锁定 · Unlock sign-in"
(layers/channels/admin/site.py), which deletes those failures.

Counted in the database (axes' AccessAttempt rows), so every worker and host agrees.

The password-change form checks the old password without django.contrib.auth.authenticate,
so axes does not see it; it is throttled here like sign-in, per user: AXES_FAILURE_LIMIT wrong
old passwords in AXES_COOLOFF_MINUTES pause the form for that user (a stolen session cannot
brute-force the password), counted in the default cache (shared with REDIS_URL).
"""

from __future__ import annotations

import datetime as dt
import math
import time

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Sum
from django.http import JsonResponse
from django.utils import timezone

MACHINE_PATHS = ("/api/", "/ogc/", "/tiles/", "/wfs/")


def _recent(request):
    """The failures of the cool-off window from this request's address."""
    return AccessAttempt.objects.filter(
        ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
    )


def address_failures(request) -> int:
    found = _recent(request).aggregate(total=Sum("failures_since_start"))["total"]
    return found or 0


class PairAndAddressHandler(AxesDatabaseHandler):
    """axes' database handler; its count is the pair's, or the limit itself once the
    address as a whole is over AXES_ADDRESS_FAILURE_LIMIT (see the module's doc)."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        pair = super().get_failures(request, credentials)
        if address_failures(request) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(pair, get_failure_limit(request, credentials))
        return pair


def locked_until(request, credentials: dict | None = None) -> dt.datetime:
    """When this request's pair, or its address, may sign in again."""
    cool_off = get_cool_off(request) or dt.timedelta(minutes=15)
    recent = _recent(request)
    ends = []
    username = get_client_username(request, credentials)
    pair = recent.filter(username=username).aggregate(
        total=Sum("failures_since_start"), last=Max("attempt_time")
    )
    if (pair["total"] or 0) >= get_failure_limit(request, credentials):
        ends.append(pair["last"] + cool_off)
    address = recent.aggregate(total=Sum("failures_since_start"), last=Max("attempt_time"))
    if (address["total"] or 0) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
        ends.append(address["last"] + cool_off)
    return max(ends) if ends else timezone.now() + cool_off


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked sign-in (AXES_LOCKOUT_CALLABLE): 429 with Retry-After;
    JSON on the machine channels, else the sign-in page saying when to try again."""
    from django.contrib.auth.forms import AuthenticationForm
    from django.shortcuts import render

    until = locked_until(request, credentials)
    wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
    if request.path_info.startswith(MACHINE_PATHS):
        response = JsonResponse(
            {
                "detail": "Too many failed sign-ins; try again later.",
                "retry_after": wait,
                "locked_until": until.isoformat(),
            },
            status=429,
        )
    else:
        context = {
            "form": AuthenticationForm(request),
            "locked_until": timezone.localtime(until),
            "locked_minutes": max(1, math.ceil(wait / 60)),
            "next": request.POST.get("next", "") if request.method == "POST" else "",
        }
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


def unlock(attempts) -> int:
    """Delete these failure rows (a queryset of AccessAttempt): the editors' unlock
    (layers/channels/admin/site.py). Returns how many went."""
    return attempts.delete()[0]


def pause_ends(attempt) -> dt.datetime | None:
    """When the pair of this row may sign in again, if it is paused now (the admin's list)."""
    cool_off = get_cool_off() or dt.timedelta(minutes=15)
    if attempt.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return None
    ends = attempt.attempt_time + cool_off
    return ends if ends > timezone.now() else None


# -- the password-change form ------------------------------------------------------------------
def _password_key(user) -> str:
    return f"pwchange-fail:{user.pk}"


def _recent_password_failures(user) -> list[float]:
    window = (get_cool_off() or dt.timedelta(minutes=15)).total_seconds()
    now = time.time()
    return [t for t in cache.get(_password_key(user), []) if now - t < window]


def password_change_paused_until(user) -> dt.datetime | None:
    """When `user` may try the old password again, while the form is paused for them."""
    failures = _recent_password_failures(user)
    if len(failures) < settings.AXES_FAILURE_LIMIT:
        return None
    window = (get_cool_off() or dt.timedelta(minutes=15)).total_seconds()
    oldest = sorted(failures)[-settings.AXES_FAILURE_LIMIT]
    return dt.datetime.fromtimestamp(oldest + window, tz=dt.UTC)


def password_change_failed(user) -> None:
    window = (get_cool_off() or dt.timedelta(minutes=15)).total_seconds()
    failures = [*_recent_password_failures(user), time.time()]
    cache.set(_password_key(user), failures, timeout=int(window) + 5)


def password_change_succeeded(user) -> None:
    cache.delete(_password_key(user))
