from django.urls import path

from tickets.apis import ErrorCodeListApi, ErrorCodeSopApi

urlpatterns = [
    path("error-codes/", ErrorCodeListApi.as_view(), name="error-code-list"),
    path("error-codes/<str:code>/sop/", ErrorCodeSopApi.as_view(), name="error-code-sop"),
]
