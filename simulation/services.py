"""Writes of the simulator: its ground truth (SimulatedFault)."""

import datetime
from collections.abc import Iterable, Mapping

from django.db import transaction

from simulation.engine import FaultRecord
from simulation.models import SimulatedFault


def simulated_faults_save(*, faults: Iterable[FaultRecord], seed: int, machine_ids: Mapping[str, int]) -> int:
    """Create the faults not stored yet and fill in failures and repairs; returns how many were new.

    Idempotent: a fault is found by (machine, started_at), and a failure or repair already stored
    is never cleared, so re-running a history over a window, or a shorter one, changes nothing.
    """
    latest: dict[tuple[int, datetime.datetime], FaultRecord] = {}
    for fault in faults:  # later snapshots of a fault know more: keep the last
        latest[(machine_ids[fault.machine_code], fault.started_at)] = fault
    if not latest:
        return 0
    with transaction.atomic():
        stored = {
            (row.machine_id, row.started_at): row
            for row in SimulatedFault.objects.select_for_update().filter(
                machine_id__in={machine_id for machine_id, _ in latest},
                started_at__in={started_at for _, started_at in latest},
            )
        }
        new_rows = []
        changed_rows = []
        for key, fault in latest.items():
            row = stored.get(key)
            if row is None:
                new_rows.append(
                    SimulatedFault(
                        machine_id=key[0],
                        failure_mode=fault.failure_mode,
                        error_code=fault.error_code,
                        started_at=fault.started_at,
                        planned_failure_at=fault.planned_failure_at,
                        failed_at=fault.failed_at,
                        repaired_at=fault.repaired_at,
                        seed=seed,
                    )
                )
                continue
            changed = False
            if row.failed_at is None and fault.failed_at is not None:
                row.failed_at, changed = fault.failed_at, True
            if row.repaired_at is None and fault.repaired_at is not None:
                row.repaired_at, changed = fault.repaired_at, True
            if changed:
                changed_rows.append(row)
        # ignore_conflicts: a concurrent run with the same seed may have stored the same fault.
        SimulatedFault.objects.bulk_create(new_rows, ignore_conflicts=True)
        SimulatedFault.objects.bulk_update(changed_rows, ["failed_at", "repaired_at"])
    return len(new_rows)
