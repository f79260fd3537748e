from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.models import SOP, ErrorCode, SOPStep
from tickets.selectors import error_code_list, sop_for_error_code


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
