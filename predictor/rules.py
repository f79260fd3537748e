"""The alarm rules each machine is judged by, read in two queries for a whole tick.

Bottom up: the machine type's metric specs give a default per alarm limit (past it for
DEFAULT_RULE_MINUTES); the type's own rules replace the default of the same metric and kind; a
machine's own rules replace its type's. A zone rule is an ABOVE rule at the zone's lower boundary.
"""

from collections.abc import Iterable

from catalogue.models import INSPECT_ERROR_CODE
from predictor.ml.rules import ABOVE, Rule, alarm_limit_rules
from predictor.models import AlarmRule, RuleKind
from predictor.selectors import MachineRef
from telemetry.models import MetricSpec


def machine_rules(machines: Iterable[MachineRef]) -> dict[int, list[Rule]]:
    """Per machine id, the enabled rules it is judged by."""
    machines = list(machines)
    type_ids = {machine.machine_type_id for machine in machines}
    units: dict[tuple[int, str], str] = {}
    by_type: dict[int, dict[tuple[str, str], Rule]] = {type_id: {} for type_id in type_ids}
    for spec in MetricSpec.objects.filter(machine_type_id__in=type_ids).order_by("id"):
        units[(spec.machine_type_id, spec.name)] = spec.unit
        for rule in alarm_limit_rules(
            key=f"spec:{spec.pk}",
            metric=spec.name,
            unit=spec.unit,
            alarm_min=spec.alarm_min,
            alarm_max=spec.alarm_max,
            error_code=INSPECT_ERROR_CODE,
        ):
            by_type[spec.machine_type_id][(spec.name, rule.kind)] = rule
    by_machine: dict[int, dict[tuple[str, str], Rule]] = {}
    machine_ids = {machine.id for machine in machines}
    rows = (
        AlarmRule.objects.filter(machine_type_id__in=type_ids, is_enabled=True)
        .select_related("error_code", "vibration_class", "machine", "machine_type")
        .order_by("machine_id", "id")
    )
    for row in rows:
        if row.machine_id is not None and row.machine_id not in machine_ids:
            continue
        rule = _rule_of(row, unit=units.get((row.machine_type_id, row.metric), ""))
        override = (row.metric, row.kind)
        if row.machine_id is None:
            by_type[row.machine_type_id][override] = rule
        else:
            by_machine.setdefault(row.machine_id, {})[override] = rule
    return {
        machine.id: list({**by_type[machine.machine_type_id], **by_machine.get(machine.id, {})}.values())
        for machine in machines
    }


def _rule_of(row: AlarmRule, *, unit: str) -> Rule:
    if row.kind == RuleKind.ZONE:
        kind, limit = ABOVE, row.vibration_class.zone_from(row.zone)
    else:
        kind, limit = row.kind, row.limit
    return Rule(
        key=f"rule:{row.pk}",
        metric=row.metric,
        kind=kind,
        limit=limit,
        minutes=row.minutes,
        error_code=row.error_code.code if row.error_code_id else INSPECT_ERROR_CODE,
        unit=unit,
        name=row.name or row.describe(),
    )
