"""The admin works for a supervisor who is not a superuser: every page of every model opens."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from core.roles import Role, user_role
from core.tests.factories import UserFactory
from notifications.models import (
    ChannelChoice,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Notification,
    NotificationKind,
    PushSubscription,
)
from predictor.models import (
    AlarmRule,
    HealthModelVersion,
    HealthState,
    MachineHealth,
    ModelDrift,
    RuleKind,
    SensorProblem,
    SensorWarning,
)
from predictor.tests.factories import ModelVersionFactory, PredictionFactory
from telemetry.models import ListenerSlot, PayloadSource, RejectedMessage
from telemetry.tests.factories import MachineFactory, MetricSpecFactory
from tickets.models import Shift, TicketEvent, TicketEventKind
from tickets.tests.factories import AlertFactory, BreakdownFactory, SOPFactory, SOPStepFactory, TicketFactory

# API tokens stay with superusers: a supervisor who could read or mint one for any account could
# act as a superuser.
SUPERUSER_ONLY = {"authtoken.TokenProxy"}
SUPERVISOR_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.label not in SUPERUSER_ONLY),
    key=lambda model: model._meta.label,
)


@pytest.fixture
def plant(db):
    machine = MachineFactory()
    MetricSpecFactory(machine_type=machine.machine_type)
    alert = AlertFactory(machine=machine)
    SOPStepFactory(sop=SOPFactory(error_codes=[alert.error_code]))
    ticket = TicketFactory(machine=machine, alert=alert, error_code=alert.error_code)
    BreakdownFactory(machine=machine, error_code=alert.error_code, ticket=ticket, predicted_by=alert)
    forest = ModelVersionFactory(is_active=True)
    PredictionFactory(machine=machine, model_version=forest)
    ModelDrift.objects.create(
        model_version=forest,
        machine_type=machine.machine_type.name,
        psi=0.41,
        feature="vibration_mean_1h",
        feature_psi=2.3,
        sample_size=600,
        measured_at=datetime.datetime(2026, 3, 5, tzinfo=datetime.UTC),
    )
    RejectedMessage.objects.create(topic="plant/x/telemetry", payload=b"\xff", payload_size=1, reason="not UTF-8")
    held = datetime.datetime(2026, 3, 5, 6, 0, tzinfo=datetime.UTC)
    ListenerSlot.objects.create(
        group="ingest", slot=0, client_id="maintainx-listener-ingest-0", claimed_at=held, seen_at=held
    )
    PayloadSource.objects.get_or_create(
        name="Vendor gateway",
        defaults={"topic_filter": "vendor/+/data", "machine_topic_level": 1, "enabled": False},
    )
    Shift.objects.create(name="Early", starts_at="06:00", ends_at="14:00")
    SensorWarning.objects.create(machine=machine, problem=SensorProblem.STALE, detail="newest reading is 9 minutes old")
    AlarmRule.objects.create(
        machine_type=machine.machine_type, machine=machine, metric="vibration", kind=RuleKind.ABOVE, limit=8.0
    )
    learned = datetime.datetime(2026, 3, 5, tzinfo=datetime.UTC)
    MachineHealth.objects.create(
        machine=machine, state=HealthState.READY, learned_days=3.0, ready_since=learned, score=72.5
    )
    HealthModelVersion.objects.create(
        machine=machine,
        version="20260305-000000",
        artifact_path="/nonexistent",
        sha256="0" * 64,
        learned_from=learned - datetime.timedelta(days=3),
        learned_to=learned,
        samples=432,
        metrics={"threshold": 9.5},
        is_active=True,
    )
    technician = UserFactory(username="plant-tech", role=Role.TECHNICIAN)
    ChannelChoice.objects.create(user=technician, email=False)
    notification = Notification.objects.create(
        recipient=technician,
        kind=NotificationKind.ASSIGNED,
        title=f"Ticket #{ticket.pk} on {machine.code} is yours",
        url=f"/tickets/{ticket.pk}",
        ticket=ticket,
        created_at=learned,
    )
    subscription = PushSubscription.objects.create(
        user=technician, endpoint="https://push.example.net/send/1", p256dh="p256dh", auth="auth"
    )
    Delivery.objects.create(
        notification=notification,
        channel=DeliveryChannel.PUSH,
        push_subscription=subscription,
        status=DeliveryStatus.RETRYING,
        attempts=1,
        last_error="WebPushException: Push failed: 503 Service Unavailable",
        created_at=learned,
    )


@pytest.fixture
def supervisor_client(client, supervisor):
    client.force_login(supervisor)
    return client


@pytest.mark.parametrize("model", SUPERVISOR_MODELS, ids=lambda model: model._meta.label)
def test_supervisor_opens_changelist_search_and_change_page(supervisor_client, plant, model):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert supervisor_client.get(changelist).status_code == 200
    assert supervisor_client.get(changelist, {"q": "M-"}).status_code == 200
    obj = model._default_manager.first()
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    assert supervisor_client.get(change).status_code == 200


def test_supervisor_cannot_see_api_tokens(supervisor_client):
    assert supervisor_client.get(reverse("admin:authtoken_tokenproxy_changelist")).status_code == 403


def test_supervisor_cannot_make_anyone_superuser(supervisor_client, technician):
    url = reverse("admin:auth_user_change", args=[technician.pk])
    page = supervisor_client.get(url).content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="user_permissions"' not in page


def test_giving_the_supervisor_role_in_admin_grants_the_admin_site(supervisor_client, technician):

    url = reverse("admin:auth_user_change", args=[technician.pk])
    response = supervisor_client.post(
        url,
        {
            "username": technician.username,
            "first_name": technician.first_name,
            "last_name": technician.last_name,
            "email": technician.email,
            "is_active": "on",
            "groups": [Group.objects.get(name="Supervisor").pk],
            "last_login_0": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    technician.refresh_from_db()
    assert (user_role(technician), technician.is_staff) == (Role.SUPERVISOR, True)


def test_work_order_created_in_admin_records_who_opened_it(supervisor_client, supervisor):
    machine = MachineFactory()
    response = supervisor_client.post(
        reverse("admin:tickets_ticket_add"),
        {
            "title": "Replace worn belt",
            "machine": machine.pk,
            "priority": 2,
            "description": "",
            "events-TOTAL_FORMS": 0,
            "events-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created, assignment = TicketEvent.objects.filter(ticket__title="Replace worn belt").order_by("id")
    assert (created.kind, created.actor) == (TicketEventKind.CREATED, supervisor)
    # Left without an assignee, the work order goes through the assignment policy (nobody on shift here).
    assert (assignment.kind, assignment.assignee) == (TicketEventKind.ASSIGNED, None)


def test_manager_is_not_staff_even_with_a_role(db):
    manager = UserFactory(username="m2", role=Role.MANAGER)
    assert manager.is_staff is False
