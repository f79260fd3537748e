"""Private file storage: files that no URL serves, sent only by views that check who asks.

Django's default storage pairs MEDIA_ROOT with MEDIA_URL, which a web server typically serves to
anyone holding the link. These files live under settings.PRIVATE_MEDIA_ROOT instead, and have no URL.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateMediaStorage(FileSystemStorage):
    """FileSystemStorage under settings.PRIVATE_MEDIA_ROOT, read on every use (so that tests may point
    it at a temporary folder), with no URL."""

    @property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError(f"{name} is private: it is served by a view that checks permissions, never by URL.")


_private_media_storage = PrivateMediaStorage()


def private_media_storage() -> PrivateMediaStorage:
    """The storage for FileField(storage=...): a callable, so that migrations name this function
    instead of serialising a storage's settings."""
    return _private_media_storage
