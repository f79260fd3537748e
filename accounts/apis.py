"""Sign in, sign out and "who am I": the only API an anonymous user may call is the login (and the
CSRF token it needs, which says who is signed in: nobody, for them)."""

from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import user_role


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")
    email = serializers.EmailField()
    role = serializers.SerializerMethodField()
    is_staff = serializers.BooleanField(help_text="May open the admin site")

    def get_role(self, user) -> str | None:
        role = user_role(user)
        return role.value if role else None


class CsrfApi(APIView):
    """Sets the CSRF cookie, which the login form must send back in the X-CSRFToken header, and
    says who the session belongs to: the dashboard learns whether it is signed in without a request
    that fails (/api/me/ answers 401 to anonymous users, as API clients expect)."""

    permission_classes = [AllowAny]
    # The session only: a browser's cookie says who is signed in; tokens are for scripts, which
    # ask /api/me/.
    authentication_classes = [SessionAuthentication]

    @extend_schema(
        responses=inline_serializer(
            "CsrfToken",
            {
                "csrf_token": serializers.CharField(),
                "user": MeOutputSerializer(allow_null=True, help_text="The signed-in user; null when nobody is"),
            },
        )
    )
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        user = MeOutputSerializer(request.user).data if request.user.is_authenticated else None
        return Response({"csrf_token": get_token(request), "user": user})


class LoginApi(APIView):
    """Session login for the dashboard. API clients use /api/auth/token/ instead.

    It checks the CSRF token although the caller is anonymous (DRF checks only signed-in users),
    so that another site cannot sign a browser in to an account of its choosing.
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "login"

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses=MeOutputSerializer)
    def post(self, request):
        SessionAuthentication().enforce_csrf(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            return Response({"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST)
        login(request, user)
        return Response(MeOutputSerializer(user).data)


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """The signed-in user and their role (null when a supervisor has not given them one yet)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        return Response(MeOutputSerializer(request.user).data)


class TokenApi(ObtainAuthToken):
    """A token for scripts and integrations: send it as `Authorization: Token <key>`."""

    throttle_scope = "login"
