"""Public reports (随手拍): residents report a hazard from a phone, follow it to the end, and
say whether it was fixed (docs/REPORTS.md).

- submit: parsing, abuse guards and storage of a report; what is known nearby; "me too";
- status: the public status derived from the intake decision and the hazard's lifecycle;
- intake: the queue of editors and grid inspectors, accept / link / reject / hide;
- loop: following the hazard, telling the reporter (`public_status_changed`), "not fixed"
  and the rating;
- privacy: erasing contacts after closing.
"""

from layers.services.reports.errors import Forbidden, Invalid, NotFound, NotNow, ReportError
from layers.services.reports.intake import accept, candidates, hide, link, queue, reject
from layers.services.reports.loop import (
    hazard_stepped,
    not_fixed,
    public_actor,
    public_event,
    public_status_changed,
    rate,
    refresh,
    text_message,
)
from layers.services.reports.privacy import erase_expired_contacts
from layers.services.reports.status import public_view
from layers.services.reports.submit import (
    Sender,
    find,
    form_token,
    me_too,
    nearby,
    new_device_id,
    submit,
)

__all__ = [
    "Forbidden",
    "Invalid",
    "NotFound",
    "NotNow",
    "ReportError",
    "Sender",
    "accept",
    "candidates",
    "erase_expired_contacts",
    "find",
    "form_token",
    "hazard_stepped",
    "hide",
    "link",
    "me_too",
    "nearby",
    "new_device_id",
    "not_fixed",
    "public_actor",
    "public_event",
    "public_status_changed",
    "public_view",
    "queue",
    "rate",
    "refresh",
    "reject",
    "submit",
    "text_message",
]
