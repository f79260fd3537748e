from django.urls import path

from accounts.apis import CsrfApi, LoginApi, LogoutApi, MeApi, TokenApi

urlpatterns = [
    path("auth/csrf/", CsrfApi.as_view(), name="auth-csrf"),
    path("auth/login/", LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("auth/token/", TokenApi.as_view(), name="auth-token"),
    path("me/", MeApi.as_view(), name="me"),
]
