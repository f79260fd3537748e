from django.urls import re_path

from operations.views import frontend_index, service_worker

urlpatterns = [
    re_path(r"^sw\.js$", service_worker, name="service-worker"),
    # Everything else is the dashboard's (client-side routes); /static/ is served by ServeStatic.
    re_path(r"^(?!api/|admin/|static/|ws/).*$", frontend_index, name="frontend"),
]
