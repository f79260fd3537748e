"""Photos on tickets: attach one, list them, and send their files, thin views over
tickets.services.photos (writes) and tickets.selectors (reads).

The files have no public URL: these views send them to those who may see the ticket (the ticket
detail's rule) and answer 404 to anyone else, as for the ticket itself.
"""

from pathlib import PurePath

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import HasRole
from tickets.models import TicketPhoto
from tickets.selectors import ticket_list, ticket_photo_list
from tickets.services import ticket_photo_add
from tickets.services.photos import THUMBNAIL_CONTENT_TYPE

# The files never change (a photo is never edited); revalidating by ETag is cheap. Private: no
# shared cache may keep them.
PHOTO_CACHE_CONTROL = "private, max-age=86400"


def _file_url(photo: TicketPhoto, name: str) -> str:
    return reverse(name, kwargs={"pk": photo.ticket_id, "photo_pk": photo.pk})


@extend_schema_serializer(component_name="TicketPhotoLink")
class TicketPhotoLinkSerializer(serializers.Serializer):
    """Where a photo's files are, for a line in the activity that shows it."""

    id = serializers.IntegerField()
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    def get_image_url(self, photo) -> str:
        return _file_url(photo, "ticket-photo-image")

    def get_thumbnail_url(self, photo) -> str:
        return _file_url(photo, "ticket-photo-thumbnail")


@extend_schema_serializer(component_name="TicketPhoto")  # not the link's name, which it would inherit
class TicketPhotoOutputSerializer(TicketPhotoLinkSerializer, serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", allow_null=True, default=None)

    class Meta:
        model = TicketPhoto
        fields = [
            "id",
            "ticket",
            "caption",
            "uploaded_by",
            "added_at",
            "received_at",
            "content_type",
            "width",
            "height",
            "bytes",
            "image_url",
            "thumbnail_url",
        ]


class TicketPhotoListApi(generics.GenericAPIView):
    """The ticket's photos, oldest first (GET), and attaching one (POST, multipart: `image`, optional
    `caption` and `done_at`): its assignee or a supervisor. The image is checked by its content
    (JPEG, PNG or WebP, whole, at most settings.TICKET_PHOTO_MAX_MB), turned upright and stored
    without its EXIF (where it was taken). The same file sent again (a tablet retrying) answers 200
    with the photo already there instead of 201 with a new one."""

    permission_classes = [HasRole]
    pagination_class = None  # a ticket's photos are few, and the page shows them all

    @extend_schema_serializer(component_name="TicketPhotoInput")
    class InputSerializer(serializers.Serializer):
        image = serializers.FileField(help_text="The photo: JPEG, PNG or WebP")
        caption = serializers.CharField(max_length=500, required=False, allow_blank=True)
        done_at = serializers.DateTimeField(
            required=False,
            help_text="When it was attached on the device, when that was earlier than now (sent later, "
            "from offline); not in the future, not before the ticket opened",
        )

    serializer_class = InputSerializer  # what OPTIONS describes

    def get_queryset(self):
        return ticket_list(user=self.request.user)

    @extend_schema(
        responses={200: TicketPhotoOutputSerializer(many=True), 404: OpenApiResponse(description="No such ticket")}
    )
    def get(self, request, pk: int):
        ticket = self.get_object()
        photos = ticket_photo_list(user=request.user, ticket_id=ticket.pk)
        return Response(TicketPhotoOutputSerializer(photos, many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: TicketPhotoOutputSerializer,
            200: OpenApiResponse(TicketPhotoOutputSerializer, description="The same file was attached before"),
            400: OpenApiResponse(description="`image` (too large, not an accepted image, damaged) or `done_at`"),
            403: OpenApiResponse(description="Only the ticket's assignee or a supervisor adds photos"),
            404: OpenApiResponse(description="No such ticket among those you may see"),
        },
    )
    def post(self, request, pk: int):
        ticket = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            photo, created = ticket_photo_add(
                ticket=ticket,
                actor=request.user,
                image=data["image"],
                caption=data.get("caption", ""),
                done_at=data.get("done_at"),
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error) or None) from error
        return Response(
            TicketPhotoOutputSerializer(photo).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class TicketPhotoFileApi(APIView):
    """One of a photo's files, to those who may see its ticket (404 for anyone else); `variant` says which."""

    permission_classes = [HasRole]
    variant = "image"

    def perform_content_negotiation(self, request, force=False):
        # An <img> asks for image/*: the file answers it, and an error is still said in JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "image/*"): OpenApiTypes.BINARY,
            304: OpenApiResponse(description="Not modified (If-None-Match)"),
            404: OpenApiResponse(description="No such photo on a ticket you may see"),
        }
    )
    def get(self, request, pk: int, photo_pk: int):
        photo = generics.get_object_or_404(ticket_photo_list(user=request.user, ticket_id=pk), pk=photo_pk)
        etag = f'"{photo.sha256[:32]}-{self.variant}"'
        if etag in request.headers.get("If-None-Match", ""):
            response = HttpResponseNotModified()
        else:
            file = getattr(photo, self.variant)
            # Whole, not streamed: at most TICKET_PHOTO_MAX_MB, and Django's ASGI handler would read a
            # file's synchronous iterator whole anyway.
            with file.open("rb") as opened:
                content = opened.read()
            content_type = photo.content_type if self.variant == "image" else THUMBNAIL_CONTENT_TYPE
            response = HttpResponse(content, content_type=content_type)
            name = f"ticket-{photo.ticket_id}-photo-{photo.pk}{'-thumbnail' if self.variant == 'thumbnail' else ''}"
            response["Content-Disposition"] = f'inline; filename="{name}{PurePath(file.name).suffix}"'
        response["ETag"] = etag
        response["Cache-Control"] = PHOTO_CACHE_CONTROL
        return response


class TicketPhotoImageApi(TicketPhotoFileApi):
    """The photo, upright and without EXIF, as stored."""

    variant = "image"


class TicketPhotoThumbnailApi(TicketPhotoFileApi):
    """The photo's thumbnail: a JPEG at most 320 pixels on its long side."""

    variant = "thumbnail"
