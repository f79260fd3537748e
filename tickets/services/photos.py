"""Photos on tickets: the assignee or a supervisor attaches one (a tablet's camera, often offline);
it is checked by its content, stored upright with no EXIF and a thumbnail, in private storage, and
recorded in the ticket's activity.

Resolved tickets take photos too: a photo adds to the record without changing the ticket's state,
and a tablet that worked offline may send the photo of a repair after the resolve it queued first.
"""

import datetime
import hashlib
import io
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.signals import post_delete
from PIL import Image, ImageOps, UnidentifiedImageError

from tickets.models import Ticket, TicketEvent, TicketEventKind, TicketPhoto
from tickets.permissions import ticket_may_work_on
from tickets.services.common import at_or_now, done_at_checked
from tickets.services.events import ticket_pushed


@dataclass(frozen=True)
class StoredFormat:
    pillow_format: str
    content_type: str
    suffix: str
    save_options: dict


# Each accepted format is stored as itself: a camera's JPEG stays a JPEG, a screenshot's PNG stays lossless.
STORED_FORMATS = {
    "JPEG": StoredFormat("JPEG", "image/jpeg", ".jpg", {"quality": 90}),
    "PNG": StoredFormat("PNG", "image/png", ".png", {}),
    "WEBP": StoredFormat("WEBP", "image/webp", ".webp", {"quality": 90}),
}
# Pillow opens some phones' JPEGs, a photo with a preview or depth map after it, as MPO: a JPEG,
# of which the first picture is the photo.
STORED_AS = {"MPO": "JPEG"}
ACCEPTED_NAMES = "JPEG, PNG or WebP"
# A 48-megapixel tablet camera is below this; a small file that would decode to gigabytes is not.
MAX_PIXELS = 50_000_000
THUMBNAIL_LONG_SIDE = 320
THUMBNAIL_CONTENT_TYPE = "image/jpeg"
# What survives the re-encoding of image.info: the colours and a palette's transparency, which say
# nothing about where or when the photo was taken. EXIF, XMP and comments are left behind.
KEPT_INFO = ("icc_profile", "transparency")


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    stored_format: StoredFormat
    width: int
    height: int
    thumbnail: bytes


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _ticket_locked(ticket: Ticket) -> Ticket:
    """The ticket as the last commit left it, locked until this transaction ends: the assignee who
    may add photos is the current one, and a retried upload waits for the first to commit."""
    list(Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk", flat=True))
    return Ticket.objects.select_related("machine").get(pk=ticket.pk)


def photo_cleaned(data: bytes) -> CleanPhoto:
    """The photo decoded by its content, turned upright as its EXIF orientation says, and encoded
    again without any metadata, with its thumbnail. ValidationError naming `image` when it is not a
    whole JPEG, PNG or WebP image."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(STORED_FORMATS))
    except UnidentifiedImageError:
        raise _refuse(
            "image", f"This file is not a {ACCEPTED_NAMES} image (its content was checked, not its name)."
        ) from None
    except Image.DecompressionBombError:
        raise _refuse("image", f"The image is too large: at most {MAX_PIXELS // 1_000_000} megapixels.") from None
    with image:
        if image.width * image.height > MAX_PIXELS:
            raise _refuse(
                "image",
                f"The image is {image.width} x {image.height} pixels: at most {MAX_PIXELS // 1_000_000} megapixels.",
            )
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as error:
            raise _refuse("image", f"The image is damaged or incomplete (was the upload cut short?): {error}") from None
        stored_format = STORED_FORMATS.get(STORED_AS.get(image.format, image.format))
        if stored_format is None:
            raise _refuse("image", f"A {image.format} image is not accepted: send a {ACCEPTED_NAMES} image.")
        upright = ImageOps.exif_transpose(image)
    upright.info = {key: value for key, value in upright.info.items() if key in KEPT_INFO}
    if stored_format.content_type == "image/jpeg" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")  # CMYK and the like: what browsers show reliably
    output = io.BytesIO()
    upright.save(
        output,
        format=stored_format.pillow_format,
        icc_profile=upright.info.get("icc_profile"),
        **stored_format.save_options,
    )
    return CleanPhoto(
        data=output.getvalue(),
        stored_format=stored_format,
        width=upright.width,
        height=upright.height,
        thumbnail=_thumbnail(upright),
    )


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG at most THUMBNAIL_LONG_SIDE pixels on its long side; transparency shows as white."""
    small = image.copy()
    small.thumbnail((THUMBNAIL_LONG_SIDE, THUMBNAIL_LONG_SIDE))
    if small.mode in ("RGBA", "LA") or (small.mode == "P" and "transparency" in small.info):
        with_alpha = small.convert("RGBA")
        small = Image.new("RGB", with_alpha.size, "white")
        small.paste(with_alpha, mask=with_alpha.getchannel("A"))
    elif small.mode not in ("RGB", "L"):
        small = small.convert("RGB")
    output = io.BytesIO()
    small.save(output, format="JPEG", quality=80)
    return output.getvalue()


@transaction.atomic
def ticket_photo_add(
    *,
    ticket: Ticket,
    actor,
    image,
    caption: str = "",
    done_at: datetime.datetime | None = None,
    at: datetime.datetime | None = None,
) -> tuple[TicketPhoto, bool]:
    """Attach `image` (an uploaded file) to the ticket: (the photo, True), or (the photo already
    there, False) when the same file was attached before, as a tablet retrying a lost answer does.

    PermissionDenied unless the actor is the ticket's assignee or a supervisor; ValidationError
    naming `image` (too large, not an accepted image, damaged), `caption` (too long) or `done_at`.
    """
    received_at = at_or_now(at)
    ticket = _ticket_locked(ticket)
    if not ticket_may_work_on(actor, ticket):
        raise PermissionDenied("Only the ticket's assignee or a supervisor may add photos to it.")
    added_at = (
        received_at if done_at is None else done_at_checked(ticket=ticket, done_at=done_at, received_at=received_at)
    )
    caption = (caption or "").strip()
    caption_limit = TicketPhoto._meta.get_field("caption").max_length
    if len(caption) > caption_limit:
        raise _refuse("caption", f"A caption has at most {caption_limit} characters; this one has {len(caption)}.")
    max_bytes = settings.TICKET_PHOTO_MAX_MB * 1024 * 1024
    if image.size > max_bytes:
        raise _refuse(
            "image", f"The photo is {image.size / 1024 / 1024:.1f} MB: at most {settings.TICKET_PHOTO_MAX_MB} MB."
        )
    image.seek(0)
    data = image.read()
    sha256 = hashlib.sha256(data).hexdigest()
    already = TicketPhoto.objects.filter(ticket=ticket, sha256=sha256).first()
    if already is not None:
        return already, False
    clean = photo_cleaned(data)

    event = TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.PHOTO_ADDED,
        note=caption,
        at=added_at,
        received_at=None if done_at is None else received_at,
    )
    photo = TicketPhoto(
        ticket=ticket,
        event=event,
        uploaded_by=actor,
        caption=caption,
        original_name=PurePath(getattr(image, "name", "") or "").name[:255],
        added_at=added_at,
        received_at=received_at,
        content_type=clean.stored_format.content_type,
        width=clean.width,
        height=clean.height,
        bytes=len(clean.data),
        sha256=sha256,
    )
    try:
        photo.image.save(f"photo{clean.stored_format.suffix}", ContentFile(clean.data), save=False)
        photo.thumbnail.save("thumbnail.jpg", ContentFile(clean.thumbnail), save=False)
        photo.save()
        ticket.save(update_fields=["updated_at"])
    except BaseException:
        # The rows roll back with the transaction; the files are not in it.
        _files_delete(photo)
        raise
    ticket_pushed(ticket, "photo_added")
    return photo, True


def _files_delete(photo: TicketPhoto) -> None:
    for file in (photo.image, photo.thumbnail):
        if file.name:
            file.storage.delete(file.name)


def photo_files_delete_on_commit(sender, instance: TicketPhoto, **kwargs) -> None:
    """post_delete of a photo (its ticket deleted in the admin): its files go once the deletion
    commits, so that a rolled-back deletion keeps them."""
    transaction.on_commit(lambda: _files_delete(instance))


def photo_files_follow_deletions() -> None:
    """Connect photo_files_delete_on_commit (TicketsConfig.ready)."""
    post_delete.connect(photo_files_delete_on_commit, sender=TicketPhoto, dispatch_uid="ticket_photo_files")
