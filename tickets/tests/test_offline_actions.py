"""What a tablet that worked offline sends later: each action with the time it was done (`done_at`,
checked and kept beside the time it arrived), an Idempotency-Key that makes a retry harmless, the SOP
checklist's ticks stored on the server, and refusals that say why when the ticket changed meanwhile."""

import datetime

import pytest
from rest_framework.test import APIClient

from core.roles import Role
from core.tests.factories import UserFactory
from tickets.models import Ticket, TicketActionReceipt, TicketChecklistTick, TicketEvent, TicketEventKind, TicketStatus
from tickets.services import ticket_create, ticket_reassign, ticket_resolve, ticket_start
from tickets.tests.conftest import AT
from tickets.tests.factories import SOPStepFactory

pytestmark = pytest.mark.django_db

# The server's clock: two hours after the ticket opened; the tablet worked offline in between.
NOW = AT + datetime.timedelta(hours=2)
OFFLINE = AT + datetime.timedelta(minutes=30)


@pytest.fixture(autouse=True)
def pinned_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def tech1(db):
    return UserFactory(username="tech1", role=Role.TECHNICIAN, first_name="Ann", last_name="Lee")


@pytest.fixture
def tech2(db):
    return UserFactory(username="tech2", role=Role.TECHNICIAN, first_name="Bea", last_name="Novak")


@pytest.fixture
def supervisor(db):
    return UserFactory(username="sup", role=Role.SUPERVISOR)


@pytest.fixture
def ticket(pump, bearing_code, tech1) -> Ticket:
    """Open, assigned to tech1 (its created and assigned events), with the two-step bearing SOP."""
    return ticket_create(machine=pump, title="Bearing noise", error_code=bearing_code, assignee=tech1, at=AT)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def tech1_client(tech1):
    return client_for(tech1)


def start(client, ticket, **headers):
    return client.patch(
        f"/api/tickets/{ticket.pk}/",
        {"status": "in_progress", "done_at": OFFLINE.isoformat()},
        format="json",
        headers=headers,
    )


def tick(client, ticket, step, done=True, at=OFFLINE, **headers):
    return client.put(
        f"/api/tickets/{ticket.pk}/checklist/{step}/",
        {"done": done, "done_at": at.isoformat()},
        format="json",
        headers=headers,
    )


# --- done_at ------------------------------------------------------------------------------------


def test_an_action_done_offline_keeps_its_time_and_the_time_it_arrived(ticket, tech1_client):
    response = start(tech1_client, ticket)

    assert response.status_code == 200, response.json()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.started_at) == (TicketStatus.IN_PROGRESS, OFFLINE)
    started = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.STATUS_CHANGED)
    assert (started.at, started.received_at) == (OFFLINE, NOW)
    shown = [event for event in response.json()["events"] if event["kind"] == "status_changed"]
    assert [(event["at"], event["received_at"]) for event in shown] == [
        (OFFLINE.isoformat().replace("+00:00", "Z"), NOW.isoformat().replace("+00:00", "Z"))
    ]


def test_an_action_done_online_has_no_separate_arrival_time(ticket, tech1_client):
    tech1_client.patch(f"/api/tickets/{ticket.pk}/", {"status": "in_progress"}, format="json")

    started = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.STATUS_CHANGED)
    assert (started.at, started.received_at) == (NOW, None)


@pytest.mark.parametrize(
    "done_at",
    [NOW + datetime.timedelta(hours=1), AT - datetime.timedelta(minutes=1), "yesterday"],
    ids=["in the future", "before the ticket opened", "not a time"],
)
def test_a_wrong_done_at_is_a_400_naming_it_and_changes_nothing(ticket, tech1_client, done_at):
    value = done_at if isinstance(done_at, str) else done_at.isoformat()
    responses = [
        tech1_client.patch(f"/api/tickets/{ticket.pk}/", {"status": "in_progress", "done_at": value}, format="json"),
        tech1_client.post(f"/api/tickets/{ticket.pk}/comments/", {"text": "Bearing hot", "done_at": value}),
        tech1_client.put(f"/api/tickets/{ticket.pk}/checklist/1/", {"done": True, "done_at": value}, format="json"),
    ]

    assert [(response.status_code, list(response.json())) for response in responses] == [(400, ["done_at"])] * 3
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)) == ["created", "assigned"]
    assert not TicketChecklistTick.objects.exists()


def test_a_resolve_done_before_the_start_is_refused_naming_done_at(ticket, tech1_client):
    start(tech1_client, ticket)

    response = tech1_client.patch(
        f"/api/tickets/{ticket.pk}/",
        {
            "status": "resolved",
            "outcome": "false_alarm",
            "notes": "Nothing found",
            "done_at": (OFFLINE - datetime.timedelta(minutes=5)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert "before ticket" in response.json()["done_at"][0]
    assert "was started" in response.json()["done_at"][0]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS


def test_a_resolve_and_a_comment_done_offline_are_shown_at_their_times(ticket, tech1_client):
    start(tech1_client, ticket)
    resolved_at = OFFLINE + datetime.timedelta(minutes=40)
    commented_at = OFFLINE + datetime.timedelta(minutes=10)

    comment = tech1_client.post(
        f"/api/tickets/{ticket.pk}/comments/", {"text": "Bearing hot", "done_at": commented_at.isoformat()}
    )
    resolve = tech1_client.patch(
        f"/api/tickets/{ticket.pk}/",
        {"status": "resolved", "outcome": "false_alarm", "notes": "Nothing found", "done_at": resolved_at.isoformat()},
        format="json",
    )

    assert (comment.status_code, resolve.status_code) == (201, 200)
    ticket.refresh_from_db()
    assert (ticket.resolved_at, ticket.downtime_end) == (resolved_at, resolved_at)
    events = TicketEvent.objects.filter(ticket=ticket, received_at__isnull=False).order_by("at")
    assert [(event.kind, event.at, event.received_at) for event in events] == [
        (TicketEventKind.STATUS_CHANGED, OFFLINE, NOW),
        (TicketEventKind.COMMENTED, commented_at, NOW),
        (TicketEventKind.STATUS_CHANGED, resolved_at, NOW),
    ]


# --- Idempotency-Key ----------------------------------------------------------------------------


def test_the_same_key_again_answers_the_first_result_and_does_not_start_twice(ticket, tech1_client):
    first = start(tech1_client, ticket, **{"Idempotency-Key": "start-1"})
    again = start(tech1_client, ticket, **{"Idempotency-Key": "start-1"})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.STATUS_CHANGED).count() == 1
    # Without the key the same request is a second start, which the workflow refuses.
    assert start(tech1_client, ticket).status_code == 400


def test_a_retried_comment_is_added_once(ticket, tech1_client):
    responses = [
        tech1_client.post(
            f"/api/tickets/{ticket.pk}/comments/",
            {"text": "Bearing hot", "done_at": OFFLINE.isoformat()},
            headers={"Idempotency-Key": "comment-1"},
        )
        for _ in range(2)
    ]

    assert [response.status_code for response in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert list(TicketEvent.objects.filter(kind=TicketEventKind.COMMENTED).values_list("note", flat=True)) == [
        "Bearing hot"
    ]


def test_keys_are_per_user(ticket, tech1_client, supervisor):
    assert start(tech1_client, ticket, **{"Idempotency-Key": "same"}).status_code == 200

    comment = client_for(supervisor).post(
        f"/api/tickets/{ticket.pk}/comments/", {"text": "Seen"}, headers={"Idempotency-Key": "same"}
    )

    assert comment.status_code == 201
    assert TicketActionReceipt.objects.count() == 2


@pytest.mark.parametrize("key", ["x" * 101, ""], ids=["too long", "empty"])
def test_a_key_too_long_or_empty_is_a_400_naming_the_header(ticket, tech1_client, key):
    response = start(tech1_client, ticket, **{"Idempotency-Key": key})

    assert (response.status_code, list(response.json())) == (400, ["Idempotency-Key"])
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_a_key_reused_for_another_action_is_refused_and_that_action_not_done(ticket, tech1_client):
    start(tech1_client, ticket, **{"Idempotency-Key": "reused"})

    response = tick(tech1_client, ticket, 1, **{"Idempotency-Key": "reused"})

    assert (response.status_code, list(response.json())) == (400, ["Idempotency-Key"])
    assert "status:in_progress" in response.json()["Idempotency-Key"][0]
    assert not TicketChecklistTick.objects.exists()


def test_a_refused_action_keeps_no_answer_so_a_retry_is_judged_again(ticket, tech1_client, tech1):
    ticket_start(ticket=ticket, actor=tech1)
    ticket_resolve(ticket=ticket, actor=tech1, outcome="false_alarm", notes="Nothing found")

    first = tick(tech1_client, ticket, 1, **{"Idempotency-Key": "late-tick"})

    assert first.status_code == 400
    assert not TicketActionReceipt.objects.exists()


# --- the checklist ------------------------------------------------------------------------------


def test_checklist_ticks_are_stored_and_returned_with_the_ticket(ticket, tech1_client):
    responses = [
        tick(tech1_client, ticket, 1),
        tick(tech1_client, ticket, 2, at=OFFLINE + datetime.timedelta(minutes=5)),
    ]

    assert [response.status_code for response in responses] == [200, 200]
    assert responses[0].json() == {
        "step": 1,
        "done": True,
        "done_at": OFFLINE.isoformat().replace("+00:00", "Z"),
        "done_by": "tech1",
    }
    detail = tech1_client.get(f"/api/tickets/{ticket.pk}/").json()
    assert [(item["step"], item["done"]) for item in detail["checklist"]] == [(1, True), (2, True)]
    ticked = [event for event in detail["events"] if event["kind"] == "checklist_ticked"]
    assert [event["note"] for event in ticked] == [
        "Step 1 done: Lock out and tag out the drive.",
        "Step 2 done: Pull the drive-end bearing.",
    ]


def test_an_untick_done_later_wins_and_an_older_one_sent_late_changes_nothing(ticket, tech1_client):
    tick(tech1_client, ticket, 1, done=True, at=OFFLINE)
    tick(tech1_client, ticket, 1, done=False, at=OFFLINE + datetime.timedelta(minutes=2))
    late = tick(tech1_client, ticket, 1, done=True, at=OFFLINE + datetime.timedelta(minutes=1))

    assert late.status_code == 200
    assert late.json()["done"] is False
    stored = TicketChecklistTick.objects.get()
    assert (stored.done, stored.done_at) == (False, OFFLINE + datetime.timedelta(minutes=2))
    assert TicketEvent.objects.filter(kind=TicketEventKind.CHECKLIST_TICKED).count() == 2


def test_a_step_the_sop_does_not_have_is_a_400_naming_step(ticket, tech1_client):
    response = tick(tech1_client, ticket, 9)

    assert (response.status_code, list(response.json())) == (400, ["step"])
    assert "no step 9" in response.json()["step"][0]


def test_a_checklist_tick_without_done_is_a_400_naming_done(ticket, tech1_client):
    response = tech1_client.put(f"/api/tickets/{ticket.pk}/checklist/1/", {}, format="json")

    assert (response.status_code, list(response.json())) == (400, ["done"])


# --- refusals with a reason ---------------------------------------------------------------------


def test_an_action_on_a_ticket_reassigned_meanwhile_is_refused_saying_to_whom(ticket, tech1_client, tech2, supervisor):
    ticket_reassign(ticket=ticket, actor=supervisor, assignee=tech2)

    responses = [
        start(tech1_client, ticket, **{"Idempotency-Key": "offline-start"}),
        tick(tech1_client, ticket, 1),
        tech1_client.post(f"/api/tickets/{ticket.pk}/comments/", {"text": "On my way"}),
    ]

    assert {response.status_code for response in responses} == {404}
    assert {response.json()["detail"] for response in responses} == {
        f"Ticket #{ticket.pk} is not yours any more: it is assigned to Bea Novak."
    }
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert not TicketChecklistTick.objects.exists()


def test_another_technician_may_not_act_on_a_ticket_not_theirs(ticket, tech2):
    response = tick(client_for(tech2), ticket, 1)

    assert response.status_code == 404
    assert response.json()["detail"] == f"Ticket #{ticket.pk} is assigned to Ann Lee, not to you."
    assert not TicketChecklistTick.objects.exists()


def test_a_resolve_queued_after_someone_else_resolved_it_is_refused_saying_so(ticket, tech1_client, supervisor):
    ticket_start(ticket=ticket, actor=supervisor)
    ticket_resolve(ticket=ticket, actor=supervisor, outcome="false_alarm", notes="Checked on my round")

    response = tech1_client.patch(
        f"/api/tickets/{ticket.pk}/",
        {"status": "resolved", "outcome": "false_alarm", "notes": "Nothing found", "done_at": OFFLINE.isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert "it is resolved" in response.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.resolution_notes == "Checked on my round"


def test_a_tick_on_a_resolved_ticket_is_refused_saying_so(ticket, tech1_client, tech1):
    ticket_start(ticket=ticket, actor=tech1)
    ticket_resolve(ticket=ticket, actor=tech1, outcome="false_alarm", notes="Nothing found")

    response = tick(tech1_client, ticket, 1)

    assert response.status_code == 400
    assert "is resolved" in response.json()["detail"]


def test_a_long_step_is_named_in_the_activity_by_its_first_words(ticket, tech1_client):
    SOPStepFactory(sop=ticket.sop, order=3, instruction="Align the coupling " + "within 0.05 mm " * 20)

    tick(tech1_client, ticket, 3)

    note = TicketEvent.objects.get(kind=TicketEventKind.CHECKLIST_TICKED).note
    assert note.startswith("Step 3 done: Align the coupling within 0.05 mm")
    assert note.endswith("…")
    assert len(note) == len("Step 3 done: ") + 120
