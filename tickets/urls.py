from django.urls import path

from tickets.apis import (
    AlertAcknowledgeApi,
    AlertDetailApi,
    AlertListApi,
    AlertMarkFalseApi,
    ReportPredictionQualityApi,
    ReportSummaryApi,
    TicketCommentApi,
    TicketDetailApi,
    TicketListApi,
    TicketReassignApi,
    TicketTakeApi,
)

urlpatterns = [
    path("alerts/", AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:pk>/", AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", AlertAcknowledgeApi.as_view(), name="alert-acknowledge"),
    path("alerts/<int:pk>/mark-false/", AlertMarkFalseApi.as_view(), name="alert-mark-false"),
    path("tickets/", TicketListApi.as_view(), name="ticket-list"),
    path("tickets/<int:pk>/", TicketDetailApi.as_view(), name="ticket-detail"),
    path("tickets/<int:pk>/comments/", TicketCommentApi.as_view(), name="ticket-comment"),
    path("tickets/<int:pk>/take/", TicketTakeApi.as_view(), name="ticket-take"),
    path("tickets/<int:pk>/reassign/", TicketReassignApi.as_view(), name="ticket-reassign"),
    path("reports/summary/", ReportSummaryApi.as_view(), name="report-summary"),
    path("reports/prediction-quality/", ReportPredictionQualityApi.as_view(), name="report-prediction-quality"),
]
