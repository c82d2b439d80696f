"""Words the Django admin, django-axes and django-simple-history write without a Chinese
translation of their own: listed here (never called) so that `makemessages` keeps them in
locale/zh_Hans, where they get theirs. One language per page, the admin included."""

from django.utils.translation import gettext_noop

THIRD_PARTY_WORDS = (
    # django/contrib/admin/templates/admin/app_list.html (Django 5.2, not yet in its zh_Hans)
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    # django-axes' models and columns (it ships no zh_Hans)
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("Attempt Time"),
    gettext_noop("Locked Out"),
    # django-simple-history's history page
    gettext_noop("Changes"),
)
