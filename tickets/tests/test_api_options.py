"""OPTIONS on the ticket actions says what each takes, and never answers 500 (schemathesis found
the 500s in the whole-system suite, bench/system.py)."""

import pytest

from tickets.services import ticket_create
from tickets.tests.conftest import AT

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(pump):
    return ticket_create(machine=pump, title="Coupling rattles", at=AT)


@pytest.mark.parametrize(
    ("action", "fields"), [("comments", {"text", "done_at"}), ("reassign", {"assignee"}), ("take", set())]
)
def test_options_on_a_ticket_action_describes_what_its_post_takes(ticket, api_client, supervisor, action, fields):
    api_client.force_authenticate(supervisor)

    response = api_client.options(f"/api/tickets/{ticket.pk}/{action}/")

    assert response.status_code == 200
    assert set(response.json()["actions"]["POST"]) == fields


@pytest.mark.parametrize("action", ["reassign", "take"])
def test_options_to_someone_who_may_not_post_is_refused(ticket, api_client, manager, action):
    api_client.force_authenticate(manager)

    assert api_client.options(f"/api/tickets/{ticket.pk}/{action}/").status_code == 403


def test_options_on_a_checklist_step_describes_what_its_put_takes(ticket, api_client, supervisor):
    api_client.force_authenticate(supervisor)

    response = api_client.options(f"/api/tickets/{ticket.pk}/checklist/1/")

    assert response.status_code == 200
    assert set(response.json()["actions"]["PUT"]) == {"done", "done_at"}
