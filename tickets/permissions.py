"""Who may see and change alerts and tickets: the rules on the object, shared by the services (which
refuse an actor who may not) and the API (which filters its querysets with the same rules).

- Technicians see their own tickets and unassigned ones, take an unassigned one for themselves,
  and work only on their own.
- Managers read everything, acknowledge alerts and mark them false.
- Supervisors do everything: start, resolve, comment, reassign, reopen.
"""

from django.db.models import Q
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.roles import Role, user_role
from tickets.models import Ticket


def ticket_visibility(user) -> Q:
    """The tickets `user` may see, as a filter; matches nothing for a user without a role."""
    role = user_role(user)
    if role in (Role.SUPERVISOR, Role.MANAGER):
        return Q()
    if role == Role.TECHNICIAN:
        return Q(assignee=user) | Q(assignee__isnull=True)
    return Q(pk__in=[])


def ticket_may_view(user, ticket: Ticket) -> bool:
    role = user_role(user)
    if role in (Role.SUPERVISOR, Role.MANAGER):
        return True
    return role == Role.TECHNICIAN and ticket.assignee_id in (None, user.pk)


def ticket_may_work_on(user, ticket: Ticket) -> bool:
    """Start, resolve and comment: the assignee, or any supervisor."""
    role = user_role(user)
    return role == Role.SUPERVISOR or (role == Role.TECHNICIAN and ticket.assignee_id == user.pk)


def ticket_may_take(user) -> bool:
    """Take an unassigned ticket for oneself: technicians, and supervisors who go themselves."""
    return user_role(user) in (Role.TECHNICIAN, Role.SUPERVISOR)


def ticket_may_manage(user) -> bool:
    """Reassign and reopen."""
    return user_role(user) == Role.SUPERVISOR


def alert_may_acknowledge(user) -> bool:
    return user_role(user) in (Role.SUPERVISOR, Role.MANAGER)


def alert_may_mark_false(user) -> bool:
    """Say an alert was wrong without a ticket: those who watch the plant, as for acknowledging."""
    return user_role(user) in (Role.SUPERVISOR, Role.MANAGER)


def reports_may_read(user) -> bool:
    return user_role(user) in (Role.SUPERVISOR, Role.MANAGER)


class TicketObjectPermission(BasePermission):
    """Object-level check for the ticket endpoints: read if visible, write if the user works on it."""

    message = "Only the ticket's assignee or a supervisor may change it."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return ticket_may_view(request.user, obj)
        return ticket_may_work_on(request.user, obj)


class CanTakeTickets(BasePermission):
    message = "Only technicians and supervisors take tickets."

    def has_permission(self, request, view):
        return ticket_may_take(request.user)


class CanAcknowledgeAlerts(BasePermission):
    message = "Only managers and supervisors may acknowledge alerts."

    def has_permission(self, request, view):
        return alert_may_acknowledge(request.user)


class CanMarkAlertsFalse(BasePermission):
    message = "Only managers and supervisors may mark alerts false."

    def has_permission(self, request, view):
        return alert_may_mark_false(request.user)


class CanReadReports(BasePermission):
    message = "Reports are for managers and supervisors."

    def has_permission(self, request, view):
        return reports_may_read(request.user)
