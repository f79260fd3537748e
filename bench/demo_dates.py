"""What `make demo` shows at many dates: for each "now" of demo.tests.clocks, a fresh SQLite
install with the clock pinned there (time-machine) is seeded, trains the demo's Random Forest as
`make demo-models` does (30 simulated days ending at that "now") and replays the demo's past 3 days
as `run_demo` does, with its scenario; then it prints a row: the training history's failures, the
breakdowns (predicted, surprise), downtime, MTBF, MTTR, alert precision and median lead time of the
last 7 days' report (what the Reports page opens on), and the scenario machine's alert at the end.

    make bench-dates          (about 80 s a date on 2 cores; --only NAME for one of them)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
COLUMNS = (
    "trained on",
    "breakdowns",
    "predicted",
    "surprise",
    "downtime h",
    "MTBF h",
    "MTTR h",
    "alert precision",
    "lead h",
    "scenario alert",
)


def one_date(local_now: str, zone: str, scenario_machine: str = "M-007") -> dict:
    """Run in a process of its own: the settings read DATABASE_URL and TIME_ZONE once."""
    import django  # noqa: PLC0415 - after the environment is set
    import time_machine  # noqa: PLC0415

    from demo.tests.clocks import plant_local  # noqa: PLC0415

    with time_machine.travel(plant_local(local_now, zone), tick=True):
        django.setup()
        from django.core.management import call_command  # noqa: PLC0415
        from django.utils import timezone  # noqa: PLC0415

        from demo.runtime import DemoOptions, demo_past_replay  # noqa: PLC0415
        from predictor.models import ModelVersion  # noqa: PLC0415
        from predictor.scoring import Scorer  # noqa: PLC0415
        from simulation.runner import GroundTruthRecorder, plant_load  # noqa: PLC0415
        from tickets.models import Alert, AlertSource  # noqa: PLC0415
        from tickets.reports import Period, plant_report  # noqa: PLC0415

        quiet = open(os.devnull, "w")  # noqa: SIM115 - closed with the process
        call_command("migrate", "--noinput", "-v0")
        call_command("seed_demo", stdout=quiet)
        call_command("train_models", "--kind", "random_forest", "--days", "30", "--activate", stdout=quiet)
        trained = ModelVersion.objects.get(is_active=True)
        training = json.loads((Path(trained.artifact_path) / "metadata.json").read_text())["data"]
        options = DemoOptions(truth_path=Path(os.environ["MODEL_ARTIFACT_DIR"]) / "truth.jsonl")
        plant = plant_load(machine_count=None, seed=options.seed, mtbf_hours=200.0)
        truth = GroundTruthRecorder(path=options.truth_path, seed=options.seed, machine_ids=plant.machine_ids)
        end = timezone.now()
        demo_past_replay(options, plant=plant, scorer=Scorer(), truth=truth, end=end, say=lambda _line: None)
        report = plant_report(period=Period.last_days(days=7, today=timezone.localdate(end)), now=end)
        scenario = Alert.objects.filter(machine__code=scenario_machine, source=AlertSource.PREDICTION).first()
        return {
            "trained on": f"{training['failures']} failures",
            "breakdowns": report["breakdowns"],
            "predicted": report["breakdowns_predicted"],
            "surprise": report["breakdowns_surprise"],
            "downtime h": report["downtime_hours"],
            "MTBF h": report["mtbf_hours"],
            "MTTR h": report["mttr_hours"],
            "alert precision": report["alert_precision"],
            "lead h": report["median_lead_time_hours"],
            "scenario alert": scenario.status if scenario else "none",
        }


def main() -> int:
    from demo.tests.clocks import CLOCKS  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="one clock by name")
    parser.add_argument("--one", nargs=2, metavar=("LOCAL_NOW", "ZONE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_date(*args.one)))
        return 0
    clocks = [clock for clock in CLOCKS if args.only in (None, clock[2])]
    if not clocks:
        parser.error(f"--only: one of {', '.join(name for _, _, name in CLOCKS)}")
    header = ["now (plant-local)", "TIME_ZONE", *COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    print("\n".join(lines), flush=True)
    failed = 0
    for local_now, zone, name in clocks:
        with tempfile.TemporaryDirectory(prefix=f"demo-dates-{name}-") as scratch:
            env = {
                **{key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")},
                "DATABASE_URL": f"sqlite:///{scratch}/db.sqlite3",
                "MODEL_ARTIFACT_DIR": scratch,
                "TIME_ZONE": zone,
                "DJANGO_SETTINGS_MODULE": "maintainx.settings",
            }
            result = subprocess.run(  # noqa: S603 - this script, on a clock of our list
                [sys.executable, __file__, "--one", local_now, zone],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0:
            failed += 1
            line = f"| {local_now} | {zone} | failed: {result.stderr.strip().splitlines()[-1:]} |"
        else:
            row = json.loads(result.stdout.strip().splitlines()[-1])
            line = "| " + " | ".join([local_now, zone, *(str(row[column]) for column in COLUMNS)]) + " |"
        lines.append(line)
        print(line, flush=True)
    results = PROJECT_ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "demo_dates.md").write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
