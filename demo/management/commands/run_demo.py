"""manage.py run_demo: the whole system in one process (what `make demo` runs after seeding and training)."""

import asyncio
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.runtime import DemoOptions, DemoRuntime, demo_options_from_environment, demo_push_keys_ensure
from demo.seed import DEMO_PROFILE, plant_users
from simulation.engine import FAILURE_MODES
from simulation.profiles import profile_argument

DEFAULT_FAIL_SOON = "M-007"


class Command(BaseCommand):
    help = (
        "Run the demo in one process: the web server (dashboard, API, admin, websockets), an embedded MQTT "
        "broker (unless MQTT_URL is set), the listener, the predictor and the plant simulator, with one "
        "machine developing a fault that fails within minutes. Needs a seeded database (seed_demo) and "
        "active models (train_models --activate). Ctrl-C stops every part cleanly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Web server address (127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="Web server port (8000)")
        parser.add_argument("--seed", type=int, default=1, help="Simulator seed (1)")
        parser.add_argument(
            "--profile",
            type=profile_argument,
            default=None,
            metavar="PATH",
            help="Plant profile (TOML) to play, seeded before with seed_demo --profile (simulation/profiles/demo.toml)",
        )
        parser.add_argument(
            "--fail-soon",
            default=None,
            metavar="CODE",
            help="The machine that fails soon (M-007, or the profile's first machine); '' for none",
        )
        parser.add_argument(
            "--fail-soon-minutes", type=float, default=5.0, help="Minutes after start-up at which it fails (5)"
        )
        parser.add_argument(
            "--fail-soon-mode",
            choices=FAILURE_MODES,
            default=DemoOptions.fail_soon_mode,
            help=f"The failing machine's kind of fault ({DemoOptions.fail_soon_mode})",
        )
        parser.add_argument(
            "--history-days",
            type=float,
            default=DemoOptions.history_days,
            help="Days of the plant's past to replay through the pipeline before going live, on the first run (3)",
        )
        parser.add_argument("--predict-interval", type=float, default=10.0, help="Seconds between predictor ticks (10)")
        parser.add_argument(
            "--vapid-file",
            type=Path,
            default=settings.BASE_DIR / "var" / "demo-vapid.json",
            help="The demo's Web Push keys, made on the first run, when VAPID_* are unset (var/demo-vapid.json)",
        )
        parser.add_argument(
            "--truth-file",
            type=Path,
            default=DemoOptions.truth_path,
            help="The simulator's ground truth, JSON lines, appended to (var/simulator/ground_truth.jsonl)",
        )

    def handle(self, *args, **options):
        if options["history_days"] < 0.5:
            raise CommandError("--history-days must be at least 0.5: the predictor looks 12 hours back")
        # TensorFlow's C++ start-up notices (INFO) would bury the demo's own lines; its errors still show.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
        profile = options["profile"] or DEMO_PROFILE
        fail_soon = options["fail_soon"]
        if fail_soon is None:
            codes = [machine.code for machine in profile.machines]
            fail_soon = DEFAULT_FAIL_SOON if DEFAULT_FAIL_SOON in codes else min(codes)
        runtime = DemoRuntime(
            demo_options_from_environment(
                host=options["host"],
                port=options["port"],
                seed=options["seed"],
                fail_soon=fail_soon or None,
                fail_soon_minutes=options["fail_soon_minutes"],
                fail_soon_mode=options["fail_soon_mode"],
                predict_interval=options["predict_interval"],
                history_days=options["history_days"],
                truth_path=options["truth_file"],
                profile=profile,
            ),
            say=self.stdout.write,
        )
        demo_push_keys_ensure(path=options["vapid_file"], say=self.stdout.write)
        self.stdout.write(
            "Demo logins (demo only): "
            + ", ".join(f"{user.username} / {user.demo_password}" for user in plant_users(profile))
        )
        try:
            asyncio.run(runtime.run())
        except Exception as exc:
            raise CommandError(f"the demo stopped: {exc}") from exc
