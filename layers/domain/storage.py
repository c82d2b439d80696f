"""Where files live: public media (MEDIA_ROOT) and private photos (PRIVATE_MEDIA_ROOT, served
only through a permission check)."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage


def private_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)
