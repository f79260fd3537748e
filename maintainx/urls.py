from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_patterns = [
    path("", include("accounts.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("telemetry.urls")),
    path("", include("predictor.urls")),
    path("", include("catalogue.urls")),
    path("", include("tickets.urls")),
    path("", include("notifications.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    # Last: its catch-all serves the dashboard's page for every path not matched above.
    path("", include("operations.urls")),
]
