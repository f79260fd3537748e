from django.urls import re_path

from operations.views import frontend_index, service_worker, web_app_manifest

urlpatterns = [
    re_path(r"^sw\.js$", service_worker, name="service-worker"),
    re_path(r"^manifest\.webmanifest$", web_app_manifest, name="web-app-manifest"),
    # Everything else is the dashboard's (client-side routes); /static/ is served by ServeStatic.
    re_path(r"^(?!api/|admin/|static/|ws/).*$", frontend_index, name="frontend"),
]
