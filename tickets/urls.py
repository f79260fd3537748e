from django.urls import path

from tickets.apis import (
    AlertAcknowledgeApi,
    AlertDetailApi,
    AlertListApi,
    AlertMarkFalseApi,
    ReportPredictionQualityApi,
    ReportSummaryApi,
    TicketChecklistTickApi,
    TicketCommentApi,
    TicketDetailApi,
    TicketListApi,
    TicketReassignApi,
    TicketTakeApi,
)
from tickets.photo_apis import TicketPhotoImageApi, TicketPhotoListApi, TicketPhotoThumbnailApi

urlpatterns = [
    path("alerts/", AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:pk>/", AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", AlertAcknowledgeApi.as_view(), name="alert-acknowledge"),
    path("alerts/<int:pk>/mark-false/", AlertMarkFalseApi.as_view(), name="alert-mark-false"),
    path("tickets/", TicketListApi.as_view(), name="ticket-list"),
    path("tickets/<int:pk>/", TicketDetailApi.as_view(), name="ticket-detail"),
    path("tickets/<int:pk>/comments/", TicketCommentApi.as_view(), name="ticket-comment"),
    path("tickets/<int:pk>/checklist/<int:step>/", TicketChecklistTickApi.as_view(), name="ticket-checklist-tick"),
    path("tickets/<int:pk>/photos/", TicketPhotoListApi.as_view(), name="ticket-photo-list"),
    path("tickets/<int:pk>/photos/<int:photo_pk>/image/", TicketPhotoImageApi.as_view(), name="ticket-photo-image"),
    path(
        "tickets/<int:pk>/photos/<int:photo_pk>/thumbnail/",
        TicketPhotoThumbnailApi.as_view(),
        name="ticket-photo-thumbnail",
    ),
    path("tickets/<int:pk>/take/", TicketTakeApi.as_view(), name="ticket-take"),
    path("tickets/<int:pk>/reassign/", TicketReassignApi.as_view(), name="ticket-reassign"),
    path("reports/summary/", ReportSummaryApi.as_view(), name="report-summary"),
    path("reports/prediction-quality/", ReportPredictionQualityApi.as_view(), name="report-prediction-quality"),
]
