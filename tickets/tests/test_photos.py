"""Photos on tickets: checked by their content, stored upright with no EXIF (no location) and a
thumbnail, in private storage; sent only to those who may see the ticket, 404 to anyone else; each
one a line in the ticket's activity, pushed like every change to a ticket."""

import asyncio
import datetime
import hashlib
import io
import os

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from core.roles import Role
from core.tests.factories import UserFactory
from realtime.groups import PLANT_GROUP
from tickets.models import Ticket, TicketEvent, TicketEventKind, TicketPhoto, TicketStatus
from tickets.services import ticket_photo_add
from tickets.tests.conftest import AT
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

# The server's clock in these tests: two hours after the ticket opened.
NOW = AT + datetime.timedelta(hours=2)
RED, BLUE = (220, 20, 20), (20, 20, 220)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private-media"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture(autouse=True)
def pinned_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def tech1(db):
    return UserFactory(username="tech1", role=Role.TECHNICIAN)


@pytest.fixture
def tech2(db):
    return UserFactory(username="tech2", role=Role.TECHNICIAN)


@pytest.fixture
def ticket(pump, tech1) -> Ticket:
    return TicketFactory(
        machine=pump, assignee=tech1, opened_at=AT, assigned_at=AT, status=TicketStatus.IN_PROGRESS, started_at=AT
    )


@pytest.fixture
def tech1_client(api_client, tech1):
    api_client.force_authenticate(tech1)
    return api_client


@pytest.fixture
def photo(ticket, tech1) -> TicketPhoto:
    """A photo the assignee attached."""
    return ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()))[0]


def two_colour_image(size=(40, 20)) -> Image.Image:
    """Red on the left half, blue on the right: which way up it is stored shows."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def jpeg_taken_on_a_tablet(size=(40, 20)) -> bytes:
    """A JPEG as a tablet held upright writes it: the sensor's landscape pixels, EXIF orientation 6
    (turn 90° clockwise to show), the camera's make, where it was taken (GPS) and XMP."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TabletCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 8.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (11.0, 34.0, 12.0)
    output = io.BytesIO()
    two_colour_image(size).save(output, "JPEG", quality=95, exif=exif, xmp=b"<x:xmpmeta>48.14N 11.57E</x:xmpmeta>")
    return output.getvalue()


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, image_format, **options)
    return output.getvalue()


def upload(data: bytes, name: str = "IMG_0042.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored(file_field) -> bytes:
    with file_field.open("rb") as opened:
        return opened.read()


def is_close(pixel, colour, tolerance=40) -> bool:
    return all(abs(channel - wanted) <= tolerance for channel, wanted in zip(pixel, colour, strict=True))


# --- what is stored ---------------------------------------------------------------------------------


def test_a_tablet_jpeg_is_stored_upright_with_no_exif_and_no_location(ticket, tech1, private_media):
    original = jpeg_taken_on_a_tablet()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's premise

    photo, created = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(original), caption="Drive-end bearing")

    assert created
    data = stored(photo.image)
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size, photo.width, photo.height) == ("JPEG", (20, 40), 20, 40)
    # Turned as the orientation said: the left (red) half of the sensor's picture is now on top.
    rgb = image.convert("RGB")
    assert is_close(rgb.getpixel((10, 5)), RED)
    assert is_close(rgb.getpixel((10, 35)), BLUE)
    assert dict(image.getexif()) == {}
    assert not {"exif", "xmp"} & image.info.keys()
    assert b"Exif" not in data
    assert b"TabletCam" not in data
    assert b"48.14N" not in data
    assert (photo.content_type, photo.bytes, photo.sha256) == (
        "image/jpeg",
        len(data),
        hashlib.sha256(original).hexdigest(),
    )
    # In private storage, under our own name, not the camera's.
    assert photo.image.path.startswith(str(private_media))
    assert "IMG_0042" not in photo.image.name
    assert photo.original_name == "IMG_0042.jpg"


def test_a_phone_s_multi_picture_jpeg_is_stored_as_its_first_picture(ticket, tech1):
    preview = Image.new("RGB", (40, 20), BLUE)
    data = encoded(two_colour_image(), "MPO", save_all=True, append_images=[preview])
    assert Image.open(io.BytesIO(data)).format == "MPO"  # the test's premise: what Pillow makes of it

    photo, _ = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(data))

    image = Image.open(io.BytesIO(stored(photo.image)))
    assert (image.format, getattr(image, "n_frames", 1), photo.content_type) == ("JPEG", 1, "image/jpeg")
    assert is_close(image.convert("RGB").getpixel((5, 10)), RED)


def test_the_thumbnail_is_a_small_jpeg_with_no_exif(ticket, tech1):
    photo, _ = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet(size=(1600, 1200))))

    thumbnail = Image.open(io.BytesIO(stored(photo.thumbnail)))

    assert (photo.width, photo.height) == (1200, 1600)
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (240, 320))
    assert dict(thumbnail.getexif()) == {}


@pytest.mark.parametrize(
    ("image_format", "content_type", "name"),
    [("PNG", "image/png", "screen.png"), ("WEBP", "image/webp", "photo.webp")],
)
def test_png_and_webp_are_accepted_and_kept_in_their_format(ticket, tech1, image_format, content_type, name):
    with_alpha = two_colour_image().convert("RGBA")
    with_alpha.paste((0, 0, 0, 0), (0, 0, 10, 10))  # a transparent corner, which the stored image keeps
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TabletCam"
    data = encoded(with_alpha, image_format, exif=exif)
    assert Image.open(io.BytesIO(data)).getexif()  # the test's premise

    photo, _ = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(data, name, content_type))

    image = Image.open(io.BytesIO(stored(photo.image)))
    assert (image.format, image.mode, photo.content_type) == (image_format, "RGBA", content_type)
    assert dict(image.getexif()) == {}
    assert photo.image.name.endswith(name.rsplit(".", 1)[1])
    assert Image.open(io.BytesIO(stored(photo.thumbnail))).format == "JPEG"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Pump 7: bearing noise at 10:40, see notes.\n" * 20, "not a JPEG, PNG or WebP image"),
        (encoded(two_colour_image(), "GIF"), "not a JPEG, PNG or WebP image"),
        (encoded(two_colour_image(size=(400, 300)), "JPEG")[:1500], "damaged or incomplete"),
    ],
    ids=["text file named .jpg", "gif", "truncated jpeg"],
)
def test_what_is_not_a_whole_accepted_image_is_refused_by_its_content(ticket, tech1, data, reason, private_media):
    with pytest.raises(ValidationError) as refused:
        ticket_photo_add(ticket=ticket, actor=tech1, image=upload(data, "IMG_0043.jpg"))

    assert reason in refused.value.message_dict["image"][0]
    assert not TicketPhoto.objects.exists()
    assert not TicketEvent.objects.filter(kind=TicketEventKind.PHOTO_ADDED).exists()
    assert [path for path in private_media.rglob("*") if path.is_file()] == []


def test_a_photo_over_the_size_limit_is_refused_naming_image(ticket, tech1, settings):
    settings.TICKET_PHOTO_MAX_MB = 1
    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    data = encoded(noise, "PNG")
    assert len(data) > 1024 * 1024  # the test's premise: noise does not compress

    with pytest.raises(ValidationError) as refused:
        ticket_photo_add(ticket=ticket, actor=tech1, image=upload(data, "noise.png", "image/png"))

    assert refused.value.message_dict["image"] == [f"The photo is {len(data) / 1024 / 1024:.1f} MB: at most 1 MB."]
    settings.TICKET_PHOTO_MAX_MB = 10
    photo, created = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(data, "noise.png", "image/png"))
    assert created
    assert photo.bytes > 1024 * 1024


def test_the_same_file_sent_twice_is_kept_once(ticket, tech1):
    data = jpeg_taken_on_a_tablet()
    first, created_first = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(data))

    again, created_again = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(data, "retry.jpg"))

    assert (created_first, created_again, again.pk) == (True, False, first.pk)
    assert TicketEvent.objects.filter(kind=TicketEventKind.PHOTO_ADDED).count() == 1


def test_a_resolved_ticket_still_takes_photos(ticket, tech1):
    Ticket.objects.filter(pk=ticket.pk).update(
        status=TicketStatus.RESOLVED, resolved_at=AT, outcome="false_alarm", resolution_notes="Nothing found"
    )

    _, created = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()))

    assert created


def test_deleting_the_ticket_deletes_its_photo_files(ticket, tech1, django_capture_on_commit_callbacks):
    photo, _ = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()))
    paths = [photo.image.path, photo.thumbnail.path]
    assert all(os.path.exists(path) for path in paths)

    with django_capture_on_commit_callbacks(execute=True):
        Ticket.objects.filter(pk=ticket.pk).delete()

    assert not any(os.path.exists(path) for path in paths)


# --- the API ----------------------------------------------------------------------------------------


def photos_url(ticket) -> str:
    return f"/api/tickets/{ticket.pk}/photos/"


def post_photo(client, ticket, data=None, **fields):
    body = {"image": upload(data if data is not None else jpeg_taken_on_a_tablet()), **fields}
    return client.post(photos_url(ticket), body, format="multipart")


def test_the_assignee_attaches_a_photo_and_it_shows_in_the_ticket_and_its_activity(api_client, ticket, tech1):
    api_client.force_authenticate(tech1)

    response = post_photo(api_client, ticket, caption="Grease leaking at the seal")

    assert response.status_code == 201
    body = response.json()
    assert (body["caption"], body["uploaded_by"], body["width"], body["height"], body["content_type"]) == (
        "Grease leaking at the seal",
        "tech1",
        20,
        40,
        "image/jpeg",
    )
    assert body["added_at"] == body["received_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert body["image_url"] == f"/api/tickets/{ticket.pk}/photos/{body['id']}/image/"
    assert body["thumbnail_url"] == f"/api/tickets/{ticket.pk}/photos/{body['id']}/thumbnail/"

    detail = api_client.get(f"/api/tickets/{ticket.pk}/").json()
    assert [photo["id"] for photo in detail["photos"]] == [body["id"]]
    event = detail["events"][-1]
    assert (event["kind"], event["actor"], event["note"]) == ("photo_added", "tech1", "Grease leaking at the seal")
    assert event["photo"] == {"id": body["id"], "image_url": body["image_url"], "thumbnail_url": body["thumbnail_url"]}
    assert "add_photo" in detail["actions"]
    assert [photo["id"] for photo in api_client.get(photos_url(ticket)).json()] == [body["id"]]


def test_the_files_are_sent_privately_with_their_type_and_revalidated_by_etag(api_client, ticket, tech1):
    api_client.force_authenticate(tech1)
    body = post_photo(api_client, ticket).json()

    image = api_client.get(body["image_url"], HTTP_ACCEPT="image/avif,image/webp,*/*")
    thumbnail = api_client.get(body["thumbnail_url"], HTTP_ACCEPT="image/webp")

    for response in (image, thumbnail):
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"].startswith("private")
    assert Image.open(io.BytesIO(image.content)).size == (20, 40)
    assert image.content == stored(TicketPhoto.objects.get().image)
    assert image["ETag"] != thumbnail["ETag"]
    again = api_client.get(body["image_url"], HTTP_IF_NONE_MATCH=image["ETag"])
    assert (again.status_code, again.content) == (304, b"")


def test_a_refused_upload_is_a_400_naming_the_field(api_client, ticket, tech1):
    api_client.force_authenticate(tech1)

    text = post_photo(api_client, ticket, data=b"not an image at all")
    missing = api_client.post(photos_url(ticket), {"caption": "no file"}, format="multipart")

    assert text.status_code == 400
    assert "not a JPEG, PNG or WebP image" in text.json()["image"][0]
    assert missing.status_code == 400
    assert list(missing.json()) == ["image"]


@pytest.mark.parametrize(
    ("done_at", "expected_status", "expected_added_at"),
    [
        (AT + datetime.timedelta(minutes=30), 201, AT + datetime.timedelta(minutes=30)),
        # A tablet's clock a minute ahead: taken as now.
        (NOW + datetime.timedelta(minutes=1), 201, NOW),
        (NOW + datetime.timedelta(hours=1), 400, None),
        (AT - datetime.timedelta(minutes=1), 400, None),
    ],
    ids=["earlier, offline", "clock a little ahead", "in the future", "before the ticket opened"],
)
def test_done_at_says_when_it_was_attached_offline(tech1_client, ticket, done_at, expected_status, expected_added_at):
    response = post_photo(tech1_client, ticket, done_at=done_at.isoformat())

    assert response.status_code == expected_status, response.json()
    if expected_status == 400:
        assert list(response.json()) == ["done_at"]
        assert not TicketPhoto.objects.exists()
        return
    photo = TicketPhoto.objects.get()
    assert (photo.added_at, photo.received_at, photo.event.at) == (expected_added_at, NOW, expected_added_at)


def test_a_caption_over_500_characters_is_refused_naming_it(tech1_client, ticket, tech1):
    response = post_photo(tech1_client, ticket, caption="x" * 501)

    assert (response.status_code, list(response.json())) == (400, ["caption"])
    with pytest.raises(ValidationError) as refused:
        ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()), caption="x" * 501)
    assert list(refused.value.message_dict) == ["caption"]
    assert not TicketPhoto.objects.exists()


def test_a_malformed_done_at_is_a_400_naming_it(api_client, ticket, tech1):
    api_client.force_authenticate(tech1)

    response = post_photo(api_client, ticket, done_at="yesterday")

    assert (response.status_code, list(response.json())) == (400, ["done_at"])


def test_another_technician_gets_404_for_the_photos_and_their_files(api_client, ticket, tech1, tech2):
    photo, _ = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()))
    api_client.force_authenticate(tech2)

    for url in (
        photos_url(ticket),
        f"/api/tickets/{ticket.pk}/photos/{photo.pk}/image/",
        f"/api/tickets/{ticket.pk}/photos/{photo.pk}/thumbnail/",
    ):
        assert api_client.get(url).status_code == 404, url
    assert post_photo(api_client, ticket).status_code == 404
    assert TicketPhoto.objects.count() == 1


def test_a_photo_is_found_only_under_its_own_ticket(api_client, ticket, tech1, pump):
    photo, _ = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()))
    other = TicketFactory(machine=pump, assignee=tech1, opened_at=AT)
    api_client.force_authenticate(tech1)

    assert api_client.get(f"/api/tickets/{other.pk}/photos/{photo.pk}/image/").status_code == 404


def test_a_technician_sees_but_may_not_add_to_an_unassigned_ticket(api_client, pump, tech2, supervisor):
    unassigned = TicketFactory(machine=pump, opened_at=AT)
    ticket_photo_add(ticket=unassigned, actor=supervisor, image=upload(jpeg_taken_on_a_tablet()))
    api_client.force_authenticate(tech2)

    assert len(api_client.get(photos_url(unassigned)).json()) == 1
    refused = post_photo(api_client, unassigned, data=encoded(two_colour_image(), "PNG"))
    assert refused.status_code == 403
    assert "assignee or a supervisor" in refused.json()["detail"]


@pytest.mark.parametrize(("role_fixture", "may_add"), [("manager", False), ("supervisor", True)])
def test_managers_and_supervisors_see_every_ticket_s_photos(api_client, photo, request, role_fixture, may_add):
    ticket = photo.ticket
    api_client.force_authenticate(request.getfixturevalue(role_fixture))

    assert [item["id"] for item in api_client.get(photos_url(ticket)).json()] == [photo.pk]
    assert api_client.get(f"/api/tickets/{ticket.pk}/photos/{photo.pk}/image/").status_code == 200
    assert api_client.get(f"/api/tickets/{ticket.pk}/photos/{photo.pk}/thumbnail/").status_code == 200
    added = post_photo(api_client, ticket, data=encoded(two_colour_image(), "PNG"))
    assert added.status_code == (201 if may_add else 403)


def test_anonymous_and_roleless_users_get_nothing(api_client, ticket, tech1, user_without_role):
    photo, _ = ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()))
    urls = [
        photos_url(ticket),
        f"/api/tickets/{ticket.pk}/photos/{photo.pk}/image/",
        f"/api/tickets/{ticket.pk}/photos/{photo.pk}/thumbnail/",
    ]

    assert [api_client.get(url).status_code for url in urls] == [401, 401, 401]
    assert post_photo(api_client, ticket).status_code == 401
    api_client.force_authenticate(user_without_role)
    assert [api_client.get(url).status_code for url in urls] == [403, 403, 403]


def test_a_photo_is_pushed_like_every_change_to_a_ticket(ticket, tech1, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(PLANT_GROUP, channel)

    async def frames() -> list[dict]:
        received = []
        while True:
            try:
                received.append((await asyncio.wait_for(layer.receive(channel), 0.5))["payload"])
            except TimeoutError:
                return received

    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket_photo_add(ticket=ticket, actor=tech1, image=upload(jpeg_taken_on_a_tablet()))
        pushed = [
            frame
            for frame in async_to_sync(frames)()
            if frame.get("type") == "ticket" and frame.get("id") == ticket.pk and frame.get("machine") == "M-007"
        ]
    finally:
        async_to_sync(layer.group_discard)(PLANT_GROUP, channel)

    assert [frame["event"] for frame in pushed] == ["photo_added"]


def test_the_ticket_admin_shows_the_photos_through_the_checked_views(client, photo, supervisor):
    client.force_login(supervisor)

    page = client.get(f"/admin/tickets/ticket/{photo.ticket_id}/change/")

    assert page.status_code == 200
    thumbnail_url = f"/api/tickets/{photo.ticket_id}/photos/{photo.pk}/thumbnail/"
    assert f'src="{thumbnail_url}"' in page.content.decode()
    assert f'href="/api/tickets/{photo.ticket_id}/photos/{photo.pk}/image/"' in page.content.decode()
    # The admin's session is what the <img> sends.
    thumbnail = client.get(thumbnail_url, HTTP_ACCEPT="image/avif,image/webp,image/*,*/*;q=0.8")
    assert (thumbnail.status_code, thumbnail["Content-Type"]) == (200, "image/jpeg")
    assert "photos-0-caption" not in page.content.decode()  # shown, not an editable field
