from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from maintainx.apis import CsrfApi, LoginApi, LogoutApi, MeApi, TokenApi
from maintainx.views import frontend_index

api_patterns = [
    path("auth/csrf/", CsrfApi.as_view(), name="auth-csrf"),
    path("auth/login/", LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("auth/token/", TokenApi.as_view(), name="auth-token"),
    path("me/", MeApi.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("telemetry.urls")),
    path("", include("predictor.urls")),
    path("", include("catalogue.urls")),
    path("", include("tickets.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    # Everything else is the dashboard's (client-side routes); /static/ is served by ServeStatic.
    re_path(r"^(?!api/|admin/|static/|ws/).*$", frontend_index, name="frontend"),
]
