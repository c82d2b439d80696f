"""Where files live: public media (MEDIA_ROOT) and private photos (PRIVATE_MEDIA_ROOT, served
only through a permission check)."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """PRIVATE_MEDIA_ROOT, read when a file is opened or saved, not when the model fields were
    made at import: a changed setting (a test's own folder, `override_settings`) reaches the
    photos' fields too, as MEDIA_ROOT does for Django's default storage. No URL: photos are
    served by views that check the reader first."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def private_storage() -> FileSystemStorage:
    return PrivateStorage()
