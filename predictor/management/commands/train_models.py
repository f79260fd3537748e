"""manage.py train_models: train the failure models offline and register them as model versions."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.clock import instant_argument
from core.wiring import wired_map
from predictor.models import ModelKind
from predictor.selectors import active_model_versions, challenger_version
from predictor.services import trained_artifact_register
from predictor.training import TrainingRequest, forest_train, label_events_line, lstm_train, too_few_failure_events


class Command(BaseCommand):
    help = (
        "Train the Random Forest (failure within 24 h and its error code) and/or the LSTM (remaining "
        "useful life), from simulated history, or the database's readings labelled by the simulator's ground "
        "truth and tickets (db) or by the plant's own records only (plant: breakdowns and ticket outcomes); "
        "split by machine and by time; print the evaluation; write each artifact (model, metadata.json, "
        "evaluation.png) and register it as a model version, active with --activate."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=["random_forest", "lstm", "all"], default="all")
        parser.add_argument(
            "--source",
            choices=sorted(settings.TRAINING_SOURCES),
            default="simulate",
            help="Where the history and its labels come from (settings.TRAINING_SOURCES)",
        )
        parser.add_argument("--days", type=float, default=30.0, help="Days of history to learn from (30)")
        parser.add_argument("--machines", type=int, help="--source simulate: the first N machines (all)")
        parser.add_argument(
            "--mtbf-hours", type=float, default=200.0, help="--source simulate: mean hours between faults"
        )
        parser.add_argument("--epochs", type=int, default=30, help="LSTM epochs at most (early stopping)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--now",
            type=instant_argument,
            help="The history ends at this instant, ISO 8601 with an offset (default: now): the same --now and "
            "--seed train the same model on any date",
        )
        parser.add_argument("--activate", action="store_true", help="Make the new versions the active ones")
        parser.add_argument(
            "--challenger",
            action="store_true",
            help="Make the new forest the challenger: it scores in shadow, beside the active one, until promoted",
        )
        parser.add_argument(
            "--unless-active",
            action="store_true",
            help="Do nothing for a kind that already has an active version (with --challenger: a challenger); "
            "make demo trains on its first run only",
        )

    def handle(
        self,
        *args,
        kind,
        source,
        days,
        machines,
        mtbf_hours,
        epochs,
        seed,
        now,
        activate,
        challenger,
        unless_active,
        **options,
    ):
        say = self.stdout.write
        kinds = [ModelKind.RANDOM_FOREST, ModelKind.LSTM] if kind == "all" else [ModelKind(kind)]
        if challenger and (activate or kinds != [ModelKind.RANDOM_FOREST]):
            raise CommandError("--challenger takes --kind random_forest and no --activate (only a forest shadows)")
        if unless_active:
            present = active_model_versions()
            if challenger:
                present = {k: version for k in kinds if (version := challenger_version(kind=k)) is not None}
            for ready in [k for k in kinds if k in present]:
                say(f"{present[ready]} is there: not training another.")
            kinds = [k for k in kinds if k not in present]
            if not kinds:
                return
        say(f"Gathering {days:g} days of {'simulated' if source == 'simulate' else 'stored'} history ...")
        request = TrainingRequest(days=days, end=now, machine_count=machines, seed=seed, mtbf_hours=mtbf_hours)
        data = wired_map("TRAINING_SOURCES")[source](request)
        say(f"  {data.description['machines']} machines, {data.description['failures']} failures")
        label_events = data.description.get("label_events")
        if label_events is not None:
            say(f"  label events: {label_events_line(label_events)}")
            refusal = too_few_failure_events(label_events, minimum=settings.TRAINING_MIN_FAILURE_EVENTS)
            if refusal:
                raise CommandError(refusal)
        elif data.description["failures"] == 0:
            raise CommandError("no failures in that history to learn from: use more --days or --source simulate")
        trained = []
        if ModelKind.RANDOM_FOREST in kinds:
            say("Random Forest:")
            trained.append(forest_train(data, seed=seed, progress=lambda line: say(f"  {line}")))
        if ModelKind.LSTM in kinds:
            say("LSTM:")
            trained.append(lstm_train(data, seed=seed, epochs=epochs, progress=lambda line: say(f"  {line}")))
        for artifact in trained:
            version = trained_artifact_register(artifact=artifact, activate=activate, challenger=challenger)
            shown = ", ".join(
                f"{name} {value:.3f}" for name, value in artifact.metrics.items() if isinstance(value, float)
            )
            state = (
                "active"
                if version.is_active
                else "the challenger, in shadow"
                if version.is_challenger
                else "inactive (activate it in the admin)"
            )
            say(self.style.SUCCESS(f"{ModelKind(artifact.kind).label} {artifact.version}: {state}"))
            say(f"  {shown}")
            say(f"  artifact {artifact.directory}")
