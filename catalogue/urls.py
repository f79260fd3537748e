from django.urls import path

from catalogue.apis import ErrorCodeListApi, ErrorCodeSopApi, SOPDetailApi, SOPListApi

urlpatterns = [
    path("error-codes/", ErrorCodeListApi.as_view(), name="error-code-list"),
    path("error-codes/<str:code>/sop/", ErrorCodeSopApi.as_view(), name="error-code-sop"),
    path("sops/", SOPListApi.as_view(), name="sop-list"),
    path("sops/<int:pk>/", SOPDetailApi.as_view(), name="sop-detail"),
]
