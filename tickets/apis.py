"""The alerts, tickets and reports API: thin views over tickets.selectors (reads) and
tickets.services (writes), with nested Input/Output serializers.

Permissions are enforced on the object (tickets.permissions) and the list querysets are filtered by
the same rules, so a technician sees their own tickets and unassigned ones, and nothing else.
"""

import contextlib
import csv
import datetime
import io

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.apis import SOPOutputSerializer
from catalogue.models import FailureMode
from core.permissions import HasRole, IsSupervisor
from tickets.filters import AlertFilter, TicketFilter
from tickets.models import Alert, AlertSource, Ticket, TicketChecklistTick, TicketEvent, TicketOutcome, TicketStatus
from tickets.permissions import (
    CanAcknowledgeAlerts,
    CanMarkAlertsFalse,
    CanReadReports,
    CanTakeTickets,
    TicketObjectPermission,
    ticket_may_manage,
    ticket_may_take,
    ticket_may_work_on,
)
from tickets.photo_apis import TicketPhotoLinkSerializer, TicketPhotoOutputSerializer
from tickets.reports import Period, plant_report, prediction_quality
from tickets.selectors import (
    alert_list,
    ticket_detail_list,
    ticket_list,
    ticket_not_visible_reason,
)
from tickets.services import (
    WorkflowError,
    alert_acknowledge,
    alert_mark_false,
    found_failure_mode_problem,
    ticket_action_once,
    ticket_checklist_tick,
    ticket_comment,
    ticket_reassign,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
    ticket_take,
)

User = get_user_model()


class WorkflowRefused(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "workflow_refused"


@contextlib.contextmanager
def _service_errors():
    """A refused change is a 400 that says why (naming the field when a field is wrong); a refused
    actor a 403 that says who may."""
    try:
        yield
    except WorkflowError as error:
        raise WorkflowRefused(str(error)) from error
    except DjangoValidationError as error:
        raise exceptions.ValidationError(error.message_dict) from error
    except DjangoPermissionDenied as error:
        raise exceptions.PermissionDenied(str(error) or None) from error


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A key of the sender's choosing, new for each action: sent again (a retry), the action "
    "is not done twice and the first answer comes back",
)
DONE_AT_HELP = (
    "When it was done on the device, when that was earlier than now (queued offline, sent later); "
    "not in the future, not before the ticket opened"
)


def _answer_once(request, ticket: Ticket, action: str, perform) -> Response:
    """The answer of `perform()` (status, body); with an Idempotency-Key, performed once per key."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status_code, body = perform()
    else:
        with _service_errors():
            status_code, body = ticket_action_once(
                actor=request.user, key=key, ticket=ticket, action=action, perform=perform
            )
    return Response(body, status=status_code)


class WorkableTicketMixin:
    """For the ticket's actions: a ticket the user no longer sees (reassigned to a colleague while
    their tablet was offline) is a 404 that says so, so the queued action shows a reason."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            pk = self.kwargs["pk"]
            reason = ticket_not_visible_reason(user=self.request.user, pk=pk)
            raise exceptions.NotFound(reason or f"Ticket #{pk} does not exist.") from None


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")


class RulOutputSerializer(serializers.Serializer):
    """Remaining useful life in hours, with its 10-90 % range (null ends when the model gave none)."""

    hours = serializers.FloatField(source="rul_hours")
    low_hours = serializers.FloatField(source="rul_low_hours", allow_null=True)
    high_hours = serializers.FloatField(source="rul_high_hours", allow_null=True)


def _rul(source) -> dict | None:
    """The RUL of a prediction or a ticket (same field names); None when none was predicted."""
    if source is None or source.rul_hours is None:
        return None
    return RulOutputSerializer(source).data


class AlertOutputSerializer(serializers.ModelSerializer):
    machine = serializers.CharField(source="machine.code")
    machine_name = serializers.CharField(source="machine.name")
    error_code = serializers.CharField(source="error_code.code")
    error_code_title = serializers.CharField(source="error_code.title")
    severity = serializers.IntegerField(source="error_code.severity")
    acknowledged_by = UserOutputSerializer(allow_null=True)
    cleared_by = UserOutputSerializer(allow_null=True)
    marked_false_by = UserOutputSerializer(allow_null=True)
    ticket = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField(
        help_text="Why, in words: the top signals of the alert's last prediction, after a sentence "
        "saying so when the machine reported the code itself, or the rule or health model that raised it"
    )
    rul = serializers.SerializerMethodField(help_text="Remaining useful life of the alert's last prediction")

    class Meta:
        model = Alert
        fields = [
            "id",
            "machine",
            "machine_name",
            "error_code",
            "error_code_title",
            "severity",
            "source",
            "status",
            "probability",
            "opened_at",
            "refreshed_at",
            "acknowledged_at",
            "acknowledged_by",
            "cleared_at",
            "cleared_by",
            "clear_reason",
            "marked_false_at",
            "marked_false_by",
            "marked_false_reason",
            "ticket",
            "explanation",
            "rul",
            "updated_at",
        ]

    def get_ticket(self, alert) -> int | None:
        ticket = getattr(alert, "ticket", None)
        return ticket.pk if ticket is not None else None

    def get_explanation(self, alert) -> list[str]:
        lines = []
        if alert.source == AlertSource.MACHINE:
            lines.append(f"{alert.machine.code} reported {alert.error_code.code} itself: it has failed.")
        if alert.source == AlertSource.RULE and alert.detail:
            lines.append(f"Alarm rule: {alert.detail}.")
        if alert.source == AlertSource.ANOMALY and alert.detail:
            lines.append(f"Health model: {alert.detail}.")
        if alert.last_prediction is not None:
            lines.extend(alert.last_prediction.top_signals)
        return lines

    @extend_schema_field(RulOutputSerializer(allow_null=True))
    def get_rul(self, alert) -> dict | None:
        return _rul(alert.last_prediction)


class AlertListApi(generics.ListAPIView):
    """Alerts, newest first. `?status=active&status=acknowledged` for the open ones; `?since=` after a reconnect."""

    serializer_class = AlertOutputSerializer
    filterset_class = AlertFilter
    ordering_fields = ["opened_at", "updated_at", "probability"]
    ordering = ["-opened_at"]

    def get_queryset(self):
        return alert_list()


class AlertDetailApi(generics.RetrieveAPIView):
    serializer_class = AlertOutputSerializer

    def get_queryset(self):
        return alert_list()


class AlertAcknowledgeApi(APIView):
    """A manager or supervisor has seen the alert: active → acknowledged, with who and when."""

    permission_classes = [HasRole, CanAcknowledgeAlerts]

    @extend_schema(request=None, responses=AlertOutputSerializer)
    def post(self, request, pk: int):
        alert = generics.get_object_or_404(alert_list(), pk=pk)
        with _service_errors():
            alert_acknowledge(alert=alert, actor=request.user)
        return Response(AlertOutputSerializer(alert_list().get(pk=pk)).data)


class AlertMarkFalseApi(APIView):
    """A manager or supervisor says the alert was wrong, and why: it clears, keeping who, when and
    why. Refused (400, `detail` says which ticket) while a ticket answers it: resolve that ticket as
    a false alarm instead."""

    permission_classes = [HasRole, CanMarkAlertsFalse]

    @extend_schema_serializer(component_name="AlertMarkFalseInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000, help_text="Why the alert was wrong")

    serializer_class = InputSerializer  # what OPTIONS describes; without one DRF's metadata raises

    @extend_schema(
        request=InputSerializer,
        responses={
            200: AlertOutputSerializer,
            400: OpenApiResponse(description="No reason, already cleared, or a ticket answers it: `detail` says"),
            403: OpenApiResponse(description="Only managers and supervisors mark alerts false"),
        },
    )
    def post(self, request, pk: int):
        alert = generics.get_object_or_404(alert_list(), pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with _service_errors():
            alert_mark_false(alert=alert, actor=request.user, reason=serializer.validated_data["reason"])
        return Response(AlertOutputSerializer(alert_list().get(pk=pk)).data)


# --- tickets ------------------------------------------------------------------------------------


class TicketListOutputSerializer(serializers.ModelSerializer):
    machine = serializers.CharField(source="machine.code")
    machine_name = serializers.CharField(source="machine.name")
    error_code = serializers.CharField(source="error_code.code", allow_null=True)
    assignee = UserOutputSerializer(allow_null=True)
    alert = serializers.PrimaryKeyRelatedField(read_only=True)
    alert_source = serializers.CharField(
        source="alert.source", allow_null=True, default=None, help_text="What raised its alert (null: no alert)"
    )
    priority_display = serializers.CharField(source="get_priority_display")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "title",
            "machine",
            "machine_name",
            "error_code",
            "status",
            "priority",
            "priority_display",
            "assignee",
            "alert",
            "alert_source",
            "outcome",
            "found_failure_mode",
            "opened_at",
            "assigned_at",
            "started_at",
            "resolved_at",
            "escalated_at",
            "updated_at",
        ]


class TicketEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    photo = TicketPhotoLinkSerializer(allow_null=True, read_only=True, help_text="On photo_added events")

    class Meta:
        model = TicketEvent
        fields = ["at", "received_at", "kind", "actor", "assignee", "from_status", "to_status", "note", "photo"]


class TicketChecklistTickOutputSerializer(serializers.ModelSerializer):
    done_by = serializers.CharField(source="done_by.username", allow_null=True, default=None)

    class Meta:
        model = TicketChecklistTick
        fields = ["step", "done", "done_at", "done_by"]


class TicketDetailOutputSerializer(TicketListOutputSerializer):
    sop = SOPOutputSerializer(allow_null=True)
    predicted_failure_mode = serializers.CharField(
        source="error_code.failure_mode",
        allow_null=True,
        default=None,
        help_text="The failure mode of its error code: what the resolve form offers as found (null: no code)",
    )
    rul = serializers.SerializerMethodField()
    events = TicketEventOutputSerializer(many=True)
    photos = TicketPhotoOutputSerializer(many=True, help_text="Oldest first")
    checklist = TicketChecklistTickOutputSerializer(
        source="checklist_ticks", many=True, help_text="The SOP steps ticked or unticked, by step number"
    )
    actions = serializers.SerializerMethodField(help_text="What the signed-in user may do with it now")

    class Meta(TicketListOutputSerializer.Meta):
        fields = [
            *TicketListOutputSerializer.Meta.fields,
            "description",
            "sop",
            "predicted_failure_mode",
            "probability",
            "explanation",
            "rul",
            "evidence",
            "resolution_notes",
            "downtime_start",
            "downtime_end",
            "events",
            "photos",
            "checklist",
            "actions",
        ]

    @extend_schema_field(RulOutputSerializer(allow_null=True))
    def get_rul(self, ticket) -> dict | None:
        return _rul(ticket)

    def get_actions(self, ticket) -> list[str]:
        user = self.context["request"].user
        actions = []
        if ticket.status == TicketStatus.OPEN and ticket.assignee_id is None and ticket_may_take(user):
            actions.append("take")
        if ticket_may_work_on(user, ticket):
            if ticket.status == TicketStatus.OPEN:
                actions.append("start")
            elif ticket.status == TicketStatus.IN_PROGRESS:
                actions.append("resolve")
            actions.append("comment")
            actions.append("add_photo")
        if ticket_may_manage(user):
            if ticket.status != TicketStatus.RESOLVED:
                actions.append("reassign")
            elif ticket.resolved_at is not None:
                actions.append("reopen")
        return actions


class TicketListApi(generics.ListAPIView):
    """Tickets the signed-in user may see (technicians: their own and unassigned ones).

    `?mine=true`, `?status=open&status=in_progress`, `?machine=M-007`, `?since=` after a reconnect.
    """

    serializer_class = TicketListOutputSerializer
    filterset_class = TicketFilter
    search_fields = ["title", "machine__code", "error_code__code"]
    ordering_fields = ["opened_at", "updated_at", "priority", "status"]
    ordering = ["-priority", "opened_at"]

    def get_queryset(self):
        return ticket_list(user=self.request.user)


class TicketDetailApi(WorkableTicketMixin, generics.GenericAPIView):
    """One ticket with its SOP steps, explanation, evidence and audit trail. PATCH moves it along
    its workflow: `{"status": "in_progress"}` starts it, `{"status": "resolved", "outcome": ...,
    "found_failure_mode": ..., "notes": ...}` resolves it (the failure mode found is required for a
    confirmed failure or a preventive fix, empty for a false alarm), `{"status": "open"}` reopens it
    (supervisors, within 24 h)."""

    permission_classes = [HasRole, TicketObjectPermission]
    serializer_class = TicketDetailOutputSerializer

    @extend_schema_serializer(component_name="TicketStatusChangeInput")
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=TicketStatus.choices)
        outcome = serializers.ChoiceField(choices=TicketOutcome.choices, required=False)
        found_failure_mode = serializers.ChoiceField(
            choices=FailureMode.choices,
            required=False,
            allow_blank=True,
            help_text="On resolving: the failure mode found (the predicted one, or what it really was)",
        )
        notes = serializers.CharField(required=False, allow_blank=True, help_text="Resolution notes, or why reopened")
        done_at = serializers.DateTimeField(required=False, help_text=DONE_AT_HELP)

        def validate(self, data):
            if data["status"] == TicketStatus.RESOLVED and "outcome" in data:
                problem = found_failure_mode_problem(
                    outcome=data["outcome"], found_failure_mode=data.get("found_failure_mode", "")
                )
                if problem is not None:
                    raise serializers.ValidationError({"found_failure_mode": [problem]})
            return data

    def get_queryset(self):
        return ticket_detail_list(user=self.request.user)

    def _detail(self, pk: int) -> Response:
        ticket = self.get_queryset().get(pk=pk)
        return Response(TicketDetailOutputSerializer(ticket, context={"request": self.request}).data)

    def get(self, request, pk: int):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=InputSerializer, responses=TicketDetailOutputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER]
    )
    def patch(self, request, pk: int):
        ticket = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        done_at = data.get("done_at")

        def perform():
            with _service_errors():
                if data["status"] == TicketStatus.IN_PROGRESS:
                    ticket_start(ticket=ticket, actor=request.user, done_at=done_at)
                elif data["status"] == TicketStatus.RESOLVED:
                    ticket_resolve(
                        ticket=ticket,
                        actor=request.user,
                        outcome=data.get("outcome", ""),
                        found_failure_mode=data.get("found_failure_mode", ""),
                        notes=data.get("notes", ""),
                        done_at=done_at,
                    )
                else:
                    ticket_reopen(ticket=ticket, actor=request.user, note=data.get("notes", ""))
            return status.HTTP_200_OK, self._detail(pk).data

        return _answer_once(request, ticket, f"status:{data['status']}", perform)


class TicketCommentApi(WorkableTicketMixin, generics.GenericAPIView):
    """Add a comment to the ticket's audit trail (its assignee or a supervisor)."""

    permission_classes = [HasRole, TicketObjectPermission]

    @extend_schema_serializer(component_name="TicketCommentInput")
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=4000)
        done_at = serializers.DateTimeField(required=False, help_text=DONE_AT_HELP)

    serializer_class = InputSerializer  # what OPTIONS describes; without one DRF's metadata raises

    def get_queryset(self):
        return ticket_list(user=self.request.user)

    @extend_schema(
        request=InputSerializer,
        responses={201: TicketEventOutputSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    def post(self, request, pk: int):
        ticket = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def perform():
            with _service_errors():
                event = ticket_comment(
                    ticket=ticket, actor=request.user, text=data["text"], done_at=data.get("done_at")
                )
            return status.HTTP_201_CREATED, TicketEventOutputSerializer(event).data

        return _answer_once(request, ticket, "comment", perform)


class TicketChecklistTickApi(WorkableTicketMixin, generics.GenericAPIView):
    """Tick (`{"done": true}`) or untick a step of the ticket's SOP checklist, by its step number:
    its assignee or a supervisor, until it is resolved. From a tablet that was offline, `done_at`
    says when; of two ticks of a step the later by that time wins."""

    permission_classes = [HasRole, TicketObjectPermission]

    @extend_schema_serializer(component_name="TicketChecklistTickInput")
    class InputSerializer(serializers.Serializer):
        done = serializers.BooleanField()
        done_at = serializers.DateTimeField(required=False, help_text=DONE_AT_HELP)

    serializer_class = InputSerializer  # what OPTIONS describes

    def get_queryset(self):
        return ticket_list(user=self.request.user)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: TicketChecklistTickOutputSerializer,
            400: OpenApiResponse(description="`done`, `done_at` or `step` (not in its SOP), or the ticket is resolved"),
            404: OpenApiResponse(description="No such ticket among those you may see: `detail` says why"),
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    def put(self, request, pk: int, step: int):
        ticket = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def perform():
            with _service_errors():
                tick = ticket_checklist_tick(
                    ticket=ticket, actor=request.user, step=step, done=data["done"], done_at=data.get("done_at")
                )
            return status.HTTP_200_OK, TicketChecklistTickOutputSerializer(tick).data

        return _answer_once(request, ticket, f"checklist:{step}", perform)


class TicketTakeApi(generics.GenericAPIView):
    """Take an open ticket nobody has: it becomes yours to start and resolve (technicians, and
    supervisors who go themselves). Of two who take it at once, the second is refused with 400."""

    permission_classes = [HasRole, CanTakeTickets]
    serializer_class = serializers.Serializer  # it takes no body; OPTIONS says so instead of raising

    def get_queryset(self):
        return ticket_list(user=self.request.user)

    @extend_schema(
        request=None,
        responses={
            200: TicketDetailOutputSerializer,
            400: OpenApiResponse(description="Not open, or someone has it already: `detail` says who"),
            403: OpenApiResponse(description="Only technicians and supervisors take tickets"),
            404: OpenApiResponse(description="No such ticket among those you may see"),
        },
    )
    def post(self, request, pk: int):
        try:
            ticket = self.get_object()
        except Http404:
            # A technician no longer sees a ticket a colleague has taken; say what that likely means.
            raise exceptions.NotFound(
                f"Ticket #{pk} is not there for you to take: another technician has it, or it does not exist."
            ) from None
        with _service_errors():
            ticket_take(ticket=ticket, actor=request.user)
        ticket = ticket_detail_list(user=request.user).get(pk=pk)
        return Response(TicketDetailOutputSerializer(ticket, context={"request": request}).data)


class TicketReassignApi(generics.GenericAPIView):
    """Give the ticket to another technician (supervisors)."""

    permission_classes = [HasRole, IsSupervisor]

    @extend_schema_serializer(component_name="TicketReassignInput")
    class InputSerializer(serializers.Serializer):
        assignee = serializers.SlugRelatedField(
            slug_field="username", queryset=User.objects.all(), help_text="The technician's username"
        )

    serializer_class = InputSerializer  # what OPTIONS describes; without one DRF's metadata raises

    def get_queryset(self):
        return ticket_list(user=self.request.user)

    @extend_schema(request=InputSerializer, responses=TicketDetailOutputSerializer)
    def post(self, request, pk: int):
        ticket = self.get_object()
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with _service_errors():
            ticket_reassign(ticket=ticket, actor=request.user, assignee=serializer.validated_data["assignee"])
        ticket = ticket_detail_list(user=request.user).get(pk=pk)
        return Response(TicketDetailOutputSerializer(ticket, context={"request": request}).data)


# --- reports ------------------------------------------------------------------------------------


class ReportCsvRenderer(BaseRenderer):
    """The summary as one CSV table in long form (section, key, figure, value), so that every
    figure, per machine and per day included, fits one rectangular sheet."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if "period" not in data:  # an error: say it in CSV too
            writer.writerow(["error"])
            writer.writerows([[str(message)] for message in _messages(data)])
            return buffer.getvalue().encode(self.charset)
        writer.writerow(["section", "key", "figure", "value"])
        period = data["period"]
        writer.writerow(["period", "", "first_day", period["first_day"]])
        writer.writerow(["period", "", "last_day", period["last_day"]])
        for name, value in data.items():
            if name not in ("period", "by_machine", "by_day"):
                writer.writerow(["plant", "", name, "" if value is None else value])
        for section, key_field, rows in (("machine", "machine", data["by_machine"]), ("day", "day", data["by_day"])):
            for row in rows:
                for name, value in row.items():
                    if name != key_field:
                        writer.writerow([section, row[key_field], name, "" if value is None else value])
        return buffer.getvalue().encode(self.charset)


def _messages(data) -> list:
    if isinstance(data, dict):
        return [message for value in data.values() for message in _messages(value)]
    if isinstance(data, list):
        return [message for value in data for message in _messages(value)]
    return [data]


class ReportOutputSerializer(serializers.Serializer):
    class PeriodSerializer(serializers.Serializer):
        first_day = serializers.DateField()
        last_day = serializers.DateField(help_text="Included")
        start = serializers.DateTimeField()
        end = serializers.DateTimeField()
        hours_elapsed = serializers.FloatField(help_text="Hours of the period that have passed")

    class MachineRowSerializer(serializers.Serializer):
        machine = serializers.CharField()
        name = serializers.CharField()
        breakdowns = serializers.IntegerField()
        predicted = serializers.IntegerField()
        surprise = serializers.IntegerField()
        downtime_hours = serializers.FloatField()
        mtbf_hours = serializers.FloatField(allow_null=True)
        mttr_hours = serializers.FloatField(allow_null=True)

    class DayRowSerializer(serializers.Serializer):
        day = serializers.DateField()
        breakdowns = serializers.IntegerField()
        predicted = serializers.IntegerField()
        surprise = serializers.IntegerField()

    period = PeriodSerializer()
    machines = serializers.IntegerField()
    machines_broken_down = serializers.IntegerField(help_text="How many machines broke down in the period")
    breakdowns = serializers.IntegerField()
    breakdowns_predicted = serializers.IntegerField()
    breakdowns_surprise = serializers.IntegerField()
    downtime_hours = serializers.FloatField()
    mtbf_hours = serializers.FloatField(allow_null=True)
    mttr_hours = serializers.FloatField(allow_null=True)
    tickets_opened = serializers.IntegerField()
    tickets_resolved = serializers.IntegerField()
    alert_tickets_resolved = serializers.IntegerField()
    alert_precision = serializers.FloatField(allow_null=True)
    median_lead_time_hours = serializers.FloatField(allow_null=True)
    by_machine = MachineRowSerializer(many=True)
    by_day = DayRowSerializer(many=True)


class ReportSummaryApi(APIView):
    """Breakdowns, downtime, MTBF, MTTR, tickets and alert precision over whole days (default: the
    last 7 days, today included). `?format=csv` for a spreadsheet. Definitions: tickets/reports.py."""

    permission_classes = [HasRole, CanReadReports]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, ReportCsvRenderer]
    MAX_DAYS = 366

    @extend_schema_serializer(component_name="ReportPeriodInput")
    class InputSerializer(serializers.Serializer):
        # "from" is a Python keyword, hence the field names and the mapping in validate.
        from_day = serializers.DateField(required=False, help_text="First day (plant-local), YYYY-MM-DD")
        to_day = serializers.DateField(required=False, help_text="Last day, included (default: today)")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="First day, YYYY-MM-DD (default: 6 days before to)"
            ),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, included, YYYY-MM-DD (default: today)"),
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the figures as a CSV table"),
        ],
        responses={(200, "application/json"): ReportOutputSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        serializer = self.InputSerializer(
            data={
                key: value
                for key, value in (
                    ("from_day", request.query_params.get("from")),
                    ("to_day", request.query_params.get("to")),
                )
                if value
            }
        )
        if not serializer.is_valid():
            errors = {("from" if key == "from_day" else "to"): value for key, value in serializer.errors.items()}
            raise exceptions.ValidationError(errors)
        period = self._period(**serializer.validated_data)
        response = Response(ReportOutputSerializer(plant_report(period=period)).data)
        if request.accepted_renderer.format == "csv":
            name = f"maintainx-report-{period.first_day}-{period.last_day}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def _period(self, *, from_day: datetime.date | None = None, to_day: datetime.date | None = None) -> Period:
        if from_day is None and to_day is None:
            return Period.last_days(days=7)
        if to_day is None:
            to_day = from_day + datetime.timedelta(days=6)
        if from_day is None:
            from_day = to_day - datetime.timedelta(days=6)
        if from_day > to_day:
            raise exceptions.ValidationError({"from": [f"The first day ({from_day}) is after the last ({to_day})."]})
        if (to_day - from_day).days + 1 > self.MAX_DAYS:
            raise exceptions.ValidationError({"to": [f"A report covers at most {self.MAX_DAYS} days."]})
        return Period.of_days(first_day=from_day, last_day=to_day)


class PredictionQualityOutputSerializer(serializers.Serializer):
    class MonthSerializer(serializers.Serializer):
        class SourceRowSerializer(serializers.Serializer):
            source = serializers.CharField(help_text="rule, anomaly (health model), prediction (forest) or all")
            label = serializers.CharField()
            alerts = serializers.IntegerField(help_text="Alerts opened in the month")
            true_alerts = serializers.IntegerField()
            false_alerts = serializers.IntegerField()
            pending_alerts = serializers.IntegerField(help_text="Horizon not passed yet, nothing confirmed them so far")
            events = serializers.IntegerField(help_text="Failures and prevented faults in the month")
            events_caught = serializers.IntegerField()
            precision = serializers.FloatField(allow_null=True, help_text="Of the judged alerts, the true; empty: none")
            recall = serializers.FloatField(allow_null=True, help_text="Of the events, the caught; empty: none")
            median_lead_hours = serializers.FloatField(allow_null=True, help_text="Alert opened → failure")
            false_alerts_per_machine_week = serializers.FloatField(allow_null=True)

        month = serializers.DateField(help_text="Its first day")
        start = serializers.DateTimeField()
        end = serializers.DateTimeField()
        machine_weeks = serializers.FloatField(help_text="Machines times the weeks of the month that have passed")
        sources = SourceRowSerializer(many=True)

    horizon_hours = serializers.FloatField(help_text="An alert is true when a failure followed within this")
    machines = serializers.IntegerField()
    months = MonthSerializer(many=True)


class ReportPredictionQualityApi(APIView):
    """How well the predictions did, per calendar month (the last `months`, this one included) and per
    source of alerts: precision, recall, median lead time, false alerts per machine-week. Definitions:
    tickets.reports.prediction_quality."""

    permission_classes = [HasRole, CanReadReports]

    @extend_schema_serializer(component_name="ReportPredictionQualityInput")
    class InputSerializer(serializers.Serializer):
        months = serializers.IntegerField(
            required=False, default=6, min_value=1, max_value=24, help_text="How many months, this one included"
        )

    @extend_schema(parameters=[InputSerializer], responses=PredictionQualityOutputSerializer)
    def get(self, request):
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return Response(PredictionQualityOutputSerializer(prediction_quality(**serializer.validated_data)).data)
