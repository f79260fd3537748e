from django.urls import path

from tickets.apis import (
    AlertAcknowledgeApi,
    AlertDetailApi,
    AlertListApi,
    ErrorCodeListApi,
    ErrorCodeSopApi,
    ReportSummaryApi,
    SOPDetailApi,
    SOPListApi,
    TicketCommentApi,
    TicketDetailApi,
    TicketListApi,
    TicketReassignApi,
    TicketTakeApi,
)

urlpatterns = [
    path("error-codes/", ErrorCodeListApi.as_view(), name="error-code-list"),
    path("error-codes/<str:code>/sop/", ErrorCodeSopApi.as_view(), name="error-code-sop"),
    path("sops/", SOPListApi.as_view(), name="sop-list"),
    path("sops/<int:pk>/", SOPDetailApi.as_view(), name="sop-detail"),
    path("alerts/", AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:pk>/", AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", AlertAcknowledgeApi.as_view(), name="alert-acknowledge"),
    path("tickets/", TicketListApi.as_view(), name="ticket-list"),
    path("tickets/<int:pk>/", TicketDetailApi.as_view(), name="ticket-detail"),
    path("tickets/<int:pk>/comments/", TicketCommentApi.as_view(), name="ticket-comment"),
    path("tickets/<int:pk>/take/", TicketTakeApi.as_view(), name="ticket-take"),
    path("tickets/<int:pk>/reassign/", TicketReassignApi.as_view(), name="ticket-reassign"),
    path("reports/summary/", ReportSummaryApi.as_view(), name="report-summary"),
]
