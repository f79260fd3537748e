"""manage.py activate_model: list model versions, switch the active one, or roll back."""

from django.core.management.base import BaseCommand, CommandError

from predictor.ml.artifacts import ArtifactTampered, artifact_verify
from predictor.models import ModelKind
from predictor.selectors import model_version_list, model_version_previous
from predictor.services import model_version_activate

HEADLINE_METRICS = ("f1", "pr_auc", "alert_precision", "alert_recall", "rul_mae_hours")


class Command(BaseCommand):
    help = (
        "Make a trained model version the active one of its kind (the predictor picks it up at its next "
        "tick; the previous version stays, inactive, for rollback). Without a version, list the versions "
        "of each kind with their headline metrics. --previous re-activates the version that was active "
        "before the current one. The artifact's sha256 is checked before activation."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=ModelKind.values, help="random_forest or lstm")
        parser.add_argument("version", nargs="?", help="The version to activate (as listed)")
        parser.add_argument("--previous", action="store_true", help="Roll back to the previously active version")

    def handle(self, *args, kind, version, previous, **options):
        if kind is None:
            self._list()
            return
        if previous == bool(version):
            raise CommandError("give either a version or --previous")
        versions = model_version_list(kind=kind)
        if previous:
            target = model_version_previous(kind=kind)
            if target is None:
                raise CommandError(f"no {kind} version was active before the current one")
        else:
            target = next((candidate for candidate in versions if candidate.version == version), None)
            if target is None:
                known = ", ".join(candidate.version for candidate in versions[:10]) or "none"
                raise CommandError(f"no {kind} version {version!r} (known: {known})")
        if target.is_active:
            self.stdout.write(f"{target} is already active.")
            return
        try:
            artifact_verify(target.artifact_path, target.sha256)
        except ArtifactTampered as exc:
            raise CommandError(f"not activated: {exc}") from exc
        current = next((candidate for candidate in versions if candidate.is_active), None)
        note = "rolled back with activate_model --previous" if previous else "activated with activate_model"
        model_version_activate(model_version=target, note=note)
        self.stdout.write(f"{target}: active." + (f" {current.version} is kept, inactive." if current else ""))

    def _list(self) -> None:
        for kind in ModelKind:
            self.stdout.write(f"{kind.label}:")
            rows = model_version_list(kind=kind)
            if not rows:
                self.stdout.write("  (none: manage.py train_models)")
            for model_version in rows:
                metrics = ", ".join(
                    f"{name} {model_version.metrics[name]:.3f}"
                    for name in HEADLINE_METRICS
                    if isinstance(model_version.metrics.get(name), int | float)
                )
                mark = "*" if model_version.is_active else "~" if model_version.is_challenger else " "
                self.stdout.write(
                    f" {mark} {model_version.version}  trained {model_version.trained_at:%Y-%m-%d %H:%M}  {metrics}"
                )
        self.stdout.write("(* active, ~ challenger in shadow)")
