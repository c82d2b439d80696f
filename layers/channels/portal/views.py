"""Sign-in, the home page, API tokens and the forbidden page."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from layers.auth import lockout
from layers.auth.tokens import ApiToken
from layers.channels.portal import nav
from layers.compose import builder
from layers.compose.legend import legend
from layers.domain import roles
from layers.domain.pages import HOME
from layers.domain.roles import EDITOR, roles_of
from layers.query import access


def safe_next(request, value: str | None) -> str | None:
    """`next` only when it is a path of this site: no scheme, no host, no protocol-relative //."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if "\x00" in value or any(ch in value for ch in "\r\n\t"):
        return None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return None
    return value


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self):
        value = self.request.POST.get(self.redirect_field_name) or self.request.GET.get(
            self.redirect_field_name
        )
        return safe_next(self.request, value) or ""


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's form; each wrong old password is counted per user (layers/auth/lockout.py)."""

    def clean_old_password(self):
        try:
            return super().clean_old_password()
        except ValidationError:
            lockout.password_change_failed(self.user)
            raise


class PasswordChangeView(auth_views.PasswordChangeView):
    """The password form, paused for a user after AXES_FAILURE_LIMIT wrong old passwords in
    the cool-off window (429 with Retry-After and the time on the page), like sign-in."""

    template_name = "registration/password_change.html"
    form_class = ThrottledPasswordChangeForm

    def post(self, request, *args, **kwargs):
        paused = lockout.password_change_paused_until(request.user)
        if paused is not None:
            return self._paused(paused)
        response = super().post(request, *args, **kwargs)
        paused = lockout.password_change_paused_until(request.user)
        if response.status_code == 200 and paused is not None:
            return self._paused(paused)
        return response

    def form_valid(self, form):
        lockout.password_change_succeeded(self.request.user)
        return super().form_valid(form)

    def _paused(self, until):
        wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
        context = self.get_context_data(
            form=self.get_form_class()(self.request.user),
            paused_until=timezone.localtime(until),
            paused_minutes=max(1, math.ceil(wait / 60)),
        )
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response


class SignOutView(auth_views.LogoutView):
    """Signing out also empties this site's caches and storage in the browser (the offline
    tour's and field app's caches, the field outbox): the next user of the device starts clean.
    The field page asks before signing out with unsent work (static/js/signout.js)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response

    def get_redirect_url(self):
        value = self.request.POST.get(self.redirect_field_name) or self.request.GET.get(
            self.redirect_field_name
        )
        return safe_next(self.request, value) or reverse("home")


def whom_to_ask() -> list[str]:
    """Who grants roles: the configured contact, then the editors by name."""
    people = []
    if settings.SUPPORT_CONTACT:
        people.append(settings.SUPPORT_CONTACT)
    editors = get_user_model().objects.filter(groups__name=EDITOR, is_active=True)
    for user in editors.order_by("username")[:5]:
        full = f"{user.last_name}{user.first_name}".strip()
        people.append(f"{full} ({user.username})" if full else user.username)
    return people


def _readable_layers(user) -> list[dict]:
    lang = nav.lang()
    out = []
    for spec in access.readable_layers(user):
        out.append(
            {
                "slug": spec.slug,
                "title": spec.title(lang),
                "public": spec.is_public,
                "count": spec.model.objects.count(),
            }
        )
    return out


@never_cache
def home(request):
    user = request.user
    cards = []
    for destination in nav.destinations_for(user):
        figures = destination.figures(user) if destination.figures else []
        cards.append({"destination": destination, "figures": figures})
    context = {
        "cards": cards,
        "layers": _readable_layers(user),
        "has_role": bool(roles_of(user)),
        "whom_to_ask": whom_to_ask() if user.is_authenticated and not roles_of(user) else [],
        "public_links": [
            {"url": reverse("api:layers"), "label": "GET /api/v1/layers/"},
            {"url": reverse("api:viewpoints-list"), "label": "GET /api/v1/viewpoints/"},
            {"url": "/ogc/", "label": "OGC API – Features /ogc/"},
            {"url": reverse("tilejson", args=["viewpoints"]), "label": "TileJSON"},
            {"url": reverse("api:redoc"), "label": "OpenAPI (ReDoc)"},
        ],
        "page_title": nav.pick(("首页", "Home")),
        "overview": _overview_map(user),
    }
    return render(request, "portal/home.html", context)


def _overview_map(user) -> dict | None:
    """The anonymous visitor's overview map: the HOME page declaration (every public layer),
    composed by the same folium builder as the map pages."""
    if user.is_authenticated:
        return None
    m = builder.build_map(HOME, user, extra={"lang": nav.lang()})
    return {
        "title": nav.pick((HOME.title_zh, HOME.title_en)),
        "parts": builder.render_parts(m),
        "legend": legend(HOME, user, nav.lang()),
    }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request):
    """The user's own API tokens; an editor also sees and may revoke everybody's."""
    new_key = None
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()
        if not name or len(name) > 80 or "\x00" in name:
            messages.error(
                request,
                nav.pick(
                    ("请填写 1–80 个字符的令牌名称。", "Give the token a name of 1–80 characters.")
                ),
            )
        else:
            token, new_key = ApiToken.issue(request.user, name)
    own = ApiToken.objects.filter(user=request.user)
    others = None
    if roles.can_manage_tokens(request.user):
        others = (
            ApiToken.objects.filter(revoked_at__isnull=True)
            .exclude(user=request.user)
            .select_related("user")
            .order_by("user__username", "-created_at")
        )
    response = render(
        request,
        "portal/tokens.html",
        {
            "own": own,
            "others": others,
            "new_key": new_key,
            "page_title": nav.pick(("API 令牌", "API tokens")),
        },
        status=201 if new_key else 200,
    )
    # The new key is in this answer only: no cache may keep it.
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
def revoke_token(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    token = get_object_or_404(ApiToken, pk=pk)
    if token.user_id != request.user.pk and not roles.can_manage_tokens(request.user):
        raise Http404("No such token.")
    token.revoke(request.user)
    messages.success(
        request,
        nav.pick(("已撤销令牌 {name}。", "Token {name} revoked.")).format(name=token.name),
    )
    return redirect("tokens")


def forbidden(request, exception=None):
    """403 as a page with the header: what was refused, and whom to ask for a role."""
    user = request.user
    context = {
        "page_title": nav.pick(("无权访问", "Not allowed")),
        "has_role": bool(roles_of(user)),
        "whom_to_ask": whom_to_ask() if user.is_authenticated else [],
    }
    return render(request, "portal/403.html", context, status=403)


def favicon(request):
    path = settings.BASE_DIR / "static" / "img" / "favicon.ico"
    response = FileResponse(path.open("rb"), content_type="image/x-icon")
    patch_cache_control(response, public=True, max_age=86400)
    return response
