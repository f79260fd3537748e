"""manage.py seed_demo: the demo plant, error codes, SOPs, shifts and demo logins. Safe to re-run."""

from django.core.management.base import BaseCommand

from demo.seed import DEMO_PROFILE, DemoSeedReport, demo_plant_seed
from simulation.profiles import PlantProfile, profile_argument


class Command(BaseCommand):
    help = (
        "Seed a demo plant: 3 machine types, 24 machines, 5 error codes with SOPs, 3 shifts and demo users "
        "(supervisor, manager, tech1-tech4), or the plant of --profile. Idempotent: it creates only what is "
        "missing and never changes what exists, so edits made in the admin survive a re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--profile",
            type=profile_argument,
            default=None,
            metavar="PATH",
            help="Plant profile (TOML) whose machine types, machines, shifts and technicians to seed "
            "(simulation/profiles/demo.toml).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set existing demo users' passwords back to <username>-demo (new users always get it).",
        )

    def handle(self, *args, reset_passwords: bool, profile: PlantProfile | None, **options):
        profile = profile or DEMO_PROFILE
        report = demo_plant_seed(reset_passwords=reset_passwords, profile=profile)
        self.stdout.write(self.style.SUCCESS(f"{profile.name} seeded."))
        self.stdout.write(counts_table(report))
        self.stdout.write("")
        self.stdout.write("Demo logins:")
        self.stdout.write(logins_table(report))
        self.stdout.write(
            self.style.WARNING("These passwords are for demos only: change them or delete these users before real use.")
        )


def counts_table(report: DemoSeedReport) -> str:
    rows = [("", "created", "already present")]
    rows += [(kind, str(counts.created), str(counts.existing)) for kind, counts in report.counts.items()]
    return _table(rows, right_aligned_from=1)


def logins_table(report: DemoSeedReport) -> str:
    rows = [("username", "role", "name", "shifts", "password")]
    rows += [
        (
            login.username,
            login.role.value if login.role else "(no role)",
            login.full_name,
            ", ".join(login.shifts) or "-",
            login.password or "(unchanged)",  # an existing user's own password is not shown
        )
        for login in report.logins
    ]
    return _table(rows)


def _table(rows: list[tuple[str, ...]], *, right_aligned_from: int | None = None) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if right_aligned_from is not None and column >= right_aligned_from else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)
