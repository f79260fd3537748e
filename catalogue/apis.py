"""The catalogue's read API: error codes and the published SOPs a technician follows."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.models import SOP, ErrorCode, SOPStep
from catalogue.selectors import error_code_list, sop_for_error_code, sop_list


class ErrorCodeOutputSerializer(serializers.ModelSerializer):
    severity_display = serializers.CharField(source="get_severity_display")
    failure_mode_display = serializers.CharField(source="get_failure_mode_display")

    class Meta:
        model = ErrorCode
        fields = [
            "code",
            "title",
            "severity",
            "severity_display",
            "failure_mode",
            "failure_mode_display",
            "description",
        ]


class ErrorCodeListApi(generics.ListAPIView):
    serializer_class = ErrorCodeOutputSerializer
    filterset_fields = ["severity", "failure_mode"]
    search_fields = ["code", "title"]
    ordering_fields = ["code", "severity"]
    ordering = ["code"]

    def get_queryset(self):
        return error_code_list()


class SOPStepOutputSerializer(serializers.ModelSerializer):
    tools = serializers.SerializerMethodField()

    class Meta:
        model = SOPStep
        fields = ["order", "instruction", "warning", "tools", "estimated_minutes"]

    def get_tools(self, step) -> list[str]:
        return [tool.strip() for tool in step.tools.split(",") if tool.strip()]


class SOPOutputSerializer(serializers.ModelSerializer):
    error_codes = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    steps = SOPStepOutputSerializer(many=True)
    estimated_minutes = serializers.SerializerMethodField()

    class Meta:
        model = SOP
        fields = ["id", "title", "version", "summary", "error_codes", "estimated_minutes", "steps", "updated_at"]

    def get_estimated_minutes(self, sop) -> int:
        return sum(step.estimated_minutes or 0 for step in sop.steps.all())


class ErrorCodeSopApi(APIView):
    """The procedure a technician follows for this error code: its newest published SOP."""

    @extend_schema(responses=SOPOutputSerializer)
    def get(self, request, code: str):
        try:
            sop = sop_for_error_code(code=code)
        except ErrorCode.DoesNotExist:
            raise Http404(f"No error code {code!r}.") from None
        if sop is None:
            raise Http404(f"Error code {code} has no published SOP yet.")
        return Response(SOPOutputSerializer(sop).data)


class SOPListApi(generics.ListAPIView):
    """Published SOPs with their steps; `?error_code=` for the procedures of one code."""

    serializer_class = SOPOutputSerializer
    search_fields = ["title", "summary"]
    ordering = ["title", "-version"]

    @extend_schema(parameters=[OpenApiParameter("error_code", str, description="Only SOPs for this error code")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        sops = sop_list()
        code = self.request.query_params.get("error_code")
        return sops.filter(error_codes__code=code) if code else sops


class SOPDetailApi(generics.RetrieveAPIView):
    serializer_class = SOPOutputSerializer

    def get_queryset(self):
        return sop_list()


# --- alerts -------------------------------------------------------------------------------------
