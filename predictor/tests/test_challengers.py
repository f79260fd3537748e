"""Champion and challenger: a challenger scores in shadow and raises nothing; it is judged on the plant's
own outcomes beside the active version, promoted by the rule or by hand, and rolled back; the plant's
outcomes train one on a schedule."""

import datetime
from collections import defaultdict
from io import StringIO

import numpy as np
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalogue.models import ErrorCode, FailureMode
from predictor.challengers import ModelUpkeep, promotion_verdict, shadow_evaluation
from predictor.ml.artifacts import metadata_write
from predictor.ml.features import feature_names
from predictor.ml.forest import FailureForest
from predictor.models import ModelKind, ModelVersion, Prediction, ShadowPrediction
from predictor.scoring import Scorer
from predictor.services import model_version_register
from predictor.tests.test_scoring import readings
from telemetry.tests.factories import MachineFactory, MetricSpecFactory
from tickets.models import Alert, Ticket
from tickets.services import alerts_from_predictions
from tickets.tests.factories import BreakdownFactory, ErrorCodeFactory
from tickets.tests.plant_history import END, plant_history_write, pump_breakdown_write

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 5, 4, 0, 0, tzinfo=datetime.UTC)
TICK = datetime.timedelta(minutes=10)


def at(hours: float) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=hours)


def forest_version(
    tmp_path,
    name: str,
    *,
    alarmed: float,
    activate: bool = False,
    challenger: bool = False,
    machine_codes: list[str] | None = None,
):
    """A forest whose probability is high for (nearly) every input when `alarmed` is low, e.g. -2.5;
    `machine_codes`: the machines it records it learned (as training records them)."""
    names = feature_names()
    X = np.random.default_rng(0).normal(size=(200, len(names)))  # noqa: N806 - a feature matrix is X
    y = X[:, 0] > alarmed
    forest = FailureForest(n_estimators=10, n_jobs=1).fit(
        X, y, feature_names=names, y_mode=np.where(y, FailureMode.BEARING_WEAR, "")
    )
    forest.save(tmp_path / name)
    if machine_codes is not None:
        metadata_write(
            tmp_path / name,
            kind=ModelKind.RANDOM_FOREST,
            data_description="generated",
            feature_names=names,
            metrics={},
            training_seconds=0.0,
            extra={"machine_codes": machine_codes},
        )
    return model_version_register(
        kind=ModelKind.RANDOM_FOREST,
        version=name,
        directory=tmp_path / name,
        metrics={},
        data_description="generated",
        activate=activate,
        challenger=challenger,
        at=T0,
    )


def test_a_challenger_scores_in_shadow_and_raises_no_alert_or_ticket(tmp_path, settings):
    settings.MODEL_ARTIFACT_DIR = tmp_path
    ErrorCodeFactory(code="E-BRG-01", failure_mode=FailureMode.BEARING_WEAR)
    challenger = forest_version(tmp_path, "challenger", alarmed=-2.5, challenger=True)
    now = timezone.now()
    machines = [MachineFactory() for _ in range(2)]
    for machine in machines:
        MetricSpecFactory(machine_type=machine.machine_type, name="vibration")
        readings(machine, end=now, values=lambda m: 2.0 + (m % 5) / 10)

    result = Scorer().tick(now=now)

    shadow = list(ShadowPrediction.objects.filter(model_version=challenger))
    assert {row.machine_id for row in shadow} == {machine.id for machine in machines}
    assert min(row.failure_probability for row in shadow) >= settings.PREDICTION_THRESHOLD
    assert {row.error_code.code for row in shadow} == {"E-BRG-01"}
    assert result.predicted == 0
    assert not Prediction.objects.exists()
    assert not Alert.objects.exists()
    assert not Ticket.objects.exists()
    assert "shadow" in result.stage_seconds


def test_a_shadow_prediction_says_whether_the_plant_would_have_believed_it(tmp_path, settings):
    """A challenger that learned only the first machine: on the second, whose own health model has not
    learned its normal yet, the plant would have doubted it, as it doubts the active forest there."""
    settings.MODEL_ARTIFACT_DIR = tmp_path
    now = timezone.now()
    machines = [MachineFactory() for _ in range(2)]
    challenger = forest_version(tmp_path, "challenger", alarmed=-2.5, challenger=True, machine_codes=[machines[0].code])
    for machine in machines:
        MetricSpecFactory(machine_type=machine.machine_type, name="vibration")
        readings(machine, end=now, values=lambda m: 2.0 + (m % 5) / 10)

    Scorer().tick(now=now)

    shadow = ShadowPrediction.objects.filter(model_version=challenger)
    assert dict(shadow.values_list("machine_id", "may_open")) == {machines[0].id: True, machines[1].id: False}


def scores_write(model_version, machine, probability_at, *, hours: float, shadow: bool, may_open: bool = True):
    """Every 10 minutes over `hours` from T0, the probability `probability_at(h)` gives."""
    model = ShadowPrediction if shadow else Prediction
    error_code, _ = ErrorCode.objects.get_or_create(
        code="E-BRG-01", defaults={"title": "Bearing wear", "failure_mode": FailureMode.BEARING_WEAR}
    )
    model.objects.bulk_create(
        [
            model(
                machine=machine,
                ts=T0 + step * TICK,
                model_version=model_version,
                failure_probability=probability_at((step * TICK).total_seconds() / 3600),
                error_code=error_code,
                **({"may_open": may_open} if shadow else {}),
            )
            for step in range(int(hours * 6))
        ]
    )


def alerts_raise_from_predictions(model_version, *, within_own_normal=()):
    """The active version's predictions through the product's alerts, tick by tick: what it raised."""
    ticks = defaultdict(list)
    for prediction in Prediction.objects.filter(model_version=model_version).order_by("ts"):
        ticks[prediction.ts].append(prediction)
    for ts, predictions in ticks.items():
        alerts_from_predictions(predictions=predictions, at=ts, within_own_normal=within_own_normal)


def shadow_pair(
    tmp_path, *, champion_m2, challenger_m2, m2_within_own_normal: bool = False, challenger_doubted_on_m2: bool = False
):
    """Three days of an active forest and a challenger on M-1 and M-2, with their probabilities on M-2
    as given; both see M-1 coming (the active one from 20 h, the challenger from 12 h), which fails at
    30 h: one recorded failure. The active forest's alerts are raised as the predictor raises them, the
    plant doubting it on M-2 when `m2_within_own_normal`; the challenger's shadow predictions on M-2 say
    the plant would have doubted it there when `challenger_doubted_on_m2`."""
    champion = forest_version(tmp_path, "champion", alarmed=0.5, activate=True)
    challenger = forest_version(tmp_path, "challenger", alarmed=0.5, challenger=True)
    m1, m2 = MachineFactory(code="M-1"), MachineFactory(code="M-2")
    scores_write(champion, m1, lambda h: 0.9 if 20 <= h < 30 else 0.1, hours=72, shadow=False)
    scores_write(champion, m2, champion_m2, hours=72, shadow=False)
    scores_write(challenger, m1, lambda h: 0.95 if 12 <= h < 30 else 0.05, hours=72, shadow=True)
    scores_write(challenger, m2, challenger_m2, hours=72, shadow=True, may_open=not challenger_doubted_on_m2)
    BreakdownFactory(machine=m1, down_at=at(30), up_at=at(33))
    alerts_raise_from_predictions(champion, within_own_normal={m2.pk} if m2_within_own_normal else ())
    return champion, challenger


@pytest.fixture
def judged_pair(tmp_path, settings):
    """The active forest alerts M-2 from 50 h too (it never fails); the challenger never alerts M-2."""
    settings.MODEL_PROMOTION_MIN_EVENTS = 1
    return shadow_pair(tmp_path, champion_m2=lambda h: 0.9 if 50 <= h < 52 else 0.1, challenger_m2=lambda h: 0.05)


def test_the_challenger_and_the_active_version_are_judged_on_the_plant_outcomes_of_the_same_period(judged_pair):
    _champion, challenger = judged_pair

    report = shadow_evaluation(challenger, now=at(72))

    assert report["champion_version"] == "champion"
    assert report["challenger"] == {
        "alerts": 1,
        "true_alerts": 1,
        "false_alerts": 0,
        "pending_alerts": 0,
        "events": 1,
        "events_caught": 1,
        "precision": 1.0,
        "recall": 1.0,
        "median_lead_hours": 18.0,
        "false_alerts_per_machine_week": 0.0,
    }
    # M-2's alert closed at 51 h 50 min; by 72 h its 24 h horizon has not passed: pending.
    assert report["champion"]["alerts"] == 2
    assert (report["champion"]["true_alerts"], report["champion"]["pending_alerts"]) == (1, 1)
    assert report["champion"]["median_lead_hours"] == 10.0
    assert report["better"] is False  # equal precision (1.0) and recall (1.0) so far
    challenger.refresh_from_db()
    assert challenger.shadow_report == report


def test_a_version_activated_while_the_challenger_shadows_is_judged_from_its_activation_on(judged_pair, tmp_path):
    """A promotion or a rollback while the challenger shadows: being better than the version before is no
    evidence against the new one, and the new one raised nothing before it was active, so both are judged
    from its activation on."""
    _champion, challenger = judged_pair
    report = shadow_evaluation(challenger, now=at(96))  # the active one was wrong on M-2 once
    assert (report["better"], report["better_since"]) == (True, at(96).isoformat())

    other = forest_version(tmp_path, "other", alarmed=0.5, activate=True)  # activated at T0: same period
    report = shadow_evaluation(challenger, now=at(108))
    assert report["champion_version"] == "other"
    assert report["champion"]["alerts"] == 0
    assert (report["better"], report["better_since"]) == (True, at(108).isoformat())  # the sustain starts over

    ModelVersion.objects.filter(pk=other.pk).update(activated_at=at(40))
    report = shadow_evaluation(challenger, now=at(110))
    assert report["since"] == at(40).isoformat()
    # M-1's failure at 30 h and the challenger's alert before it are outside the period.
    assert (report["challenger"]["alerts"], report["challenger"]["events"]) == (0, 0)
    assert report["better"] is False


def doubted_on_m2_pair(tmp_path, settings, *, challenger_doubted: bool):
    """Both forests run high on M-2 from 10 h to 20 h, where M-2's own health model saw it normal: the
    plant doubted the active forest there, and the challenger too when `challenger_doubted`."""
    settings.MODEL_PROMOTION_MIN_EVENTS = 1
    return shadow_pair(
        tmp_path,
        champion_m2=lambda h: 0.9 if 10 <= h < 20 else 0.1,
        challenger_m2=lambda h: 0.9 if 10 <= h < 20 else 0.05,
        m2_within_own_normal=True,
        challenger_doubted_on_m2=challenger_doubted,
    )


def test_the_active_version_is_judged_on_the_alerts_it_raised_not_on_its_raw_scores(tmp_path, settings):
    """Its high run on M-2 raised nothing (M-2's own health model saw it normal): it is no false alert of
    the active version's, as it would be in its raw scores; the challenger is judged on what it would raise."""
    _champion, challenger = doubted_on_m2_pair(tmp_path, settings, challenger_doubted=False)
    assert list(Alert.objects.values_list("machine__code", flat=True)) == ["M-1"]

    report = shadow_evaluation(challenger, now=at(72))

    assert (report["champion"]["alerts"], report["champion"]["false_alerts"]) == (1, 0)
    assert (report["champion"]["precision"], report["champion"]["recall"]) == (1.0, 1.0)
    assert (report["challenger"]["alerts"], report["challenger"]["false_alerts"]) == (2, 1)
    assert report["challenger"]["precision"] == 0.5
    assert report["better"] is False
    assert report["verdict"].startswith("precision 0.50 is below the floor")


def test_the_challenger_is_judged_where_the_plant_would_have_believed_it(tmp_path, settings):
    """The same high run on M-2, where the plant would have doubted the challenger too (its shadow
    predictions say so): no alert of its there, so no false one, where its raw scores would count one."""
    _champion, challenger = doubted_on_m2_pair(tmp_path, settings, challenger_doubted=True)

    report = shadow_evaluation(challenger, now=at(72))

    assert (report["challenger"]["alerts"], report["challenger"]["false_alerts"]) == (1, 0)
    assert (report["challenger"]["precision"], report["challenger"]["recall"]) == (1.0, 1.0)
    assert report["challenger"]["median_lead_hours"] == 18.0
    assert report["champion"]["median_lead_hours"] == 10.0
    assert report["better"] is False  # as precise and as complete; leads are not part of the rule


def test_the_rule_promotes_a_challenger_that_did_better_and_the_previous_version_stays_for_rollback(
    judged_pair, settings
):
    champion, challenger = judged_pair
    settings.MODEL_PROMOTION_SUSTAIN_HOURS = 24
    upkeep = ModelUpkeep(background=False)

    report = upkeep.evaluate(now=at(96))  # M-2's horizon has passed: the active one was wrong once

    assert (report["better"], report["promote"], report["better_since"]) == (True, False, at(96).isoformat())
    assert report["verdict"].endswith("; better for 0.0 h of the 24 h it must stay so")
    assert ModelVersion.objects.get(is_active=True) == champion
    upkeep.evaluate(now=at(108))
    assert ModelVersion.objects.get(is_active=True) == champion

    upkeep.evaluate(now=at(120))  # better at every evaluation for 24 h

    challenger.refresh_from_db()
    champion.refresh_from_db()
    assert challenger.is_active
    assert not challenger.is_challenger
    assert not champion.is_active
    assert challenger.activated_at == at(120)
    assert challenger.activated_by is None
    assert challenger.activation_note == (
        "promoted by the rule: better than the active version: precision 1.00 vs 0.50, recall 1.00 vs 1.00 "
        "over 1 outcomes"
    )
    out = StringIO()
    call_command("activate_model", "random_forest", "--previous", stdout=out)
    champion.refresh_from_db()
    assert champion.is_active
    assert champion.activation_note == "rolled back with activate_model --previous"


def test_an_evaluation_that_is_not_better_starts_the_sustain_over(judged_pair, settings):
    _champion, challenger = judged_pair
    settings.MODEL_PROMOTION_SUSTAIN_HOURS = 24
    upkeep = ModelUpkeep(background=False)
    upkeep.evaluate(now=at(96))

    settings.MODEL_PROMOTION_MIN_EVENTS = 5  # fewer outcomes than that: not better, for now
    report = upkeep.evaluate(now=at(110))
    assert (report["better"], report["better_since"]) == (False, None)

    settings.MODEL_PROMOTION_MIN_EVENTS = 1
    report = upkeep.evaluate(now=at(121))
    assert (report["better"], report["promote"], report["better_since"]) == (True, False, at(121).isoformat())
    challenger.refresh_from_db()
    assert challenger.is_challenger


def test_with_manual_promotion_a_better_challenger_waits_for_a_person(judged_pair, settings):
    settings.MODEL_PROMOTION = "manual"
    champion, challenger = judged_pair

    report = ModelUpkeep(background=False).evaluate(now=at(96))

    assert report["better"] is True
    challenger.refresh_from_db()
    assert challenger.is_challenger
    assert not challenger.is_active
    assert ModelVersion.objects.get(is_active=True) == champion


def test_a_person_promotes_the_challenger_and_rolls_back_in_the_admin(judged_pair, admin_client, admin_user):
    champion, challenger = judged_pair
    changelist = "/admin/predictor/modelversion/"

    page = admin_client.get(f"{changelist}{challenger.pk}/change/").content.decode()
    assert "Not judged yet" in page
    shadow_evaluation(challenger, now=at(96))
    page = admin_client.get(f"{changelist}{challenger.pk}/change/").content.decode()
    assert "better than the active version: precision 1.00 vs 0.50" in page
    assert "<td>active: champion (the alerts it raised)</td>" in page

    admin_client.post(changelist, {"action": "promote", "_selected_action": [challenger.pk]})
    challenger.refresh_from_db()
    assert challenger.is_active
    assert challenger.activated_by == admin_user
    assert challenger.activation_note.startswith("promoted by hand (better than the active version")

    admin_client.post(changelist, {"action": "roll_back", "_selected_action": [challenger.pk]})
    champion.refresh_from_db()
    assert champion.is_active
    assert (champion.activated_by, champion.activation_note) == (admin_user, "rolled back in the admin")
    listed = admin_client.get(changelist).content.decode()
    assert "active" in listed


def test_only_challengers_can_be_promoted_in_the_admin(judged_pair, admin_client, tmp_path):
    champion, _challenger = judged_pair
    other = forest_version(tmp_path, "other", alarmed=0.5)

    admin_client.post("/admin/predictor/modelversion/", {"action": "promote", "_selected_action": [other.pk]})

    other.refresh_from_db()
    assert not other.is_active
    assert ModelVersion.objects.get(is_active=True) == champion


@pytest.mark.parametrize(
    ("challenger", "champion", "promoted", "why"),
    [
        ({"events": 9, "precision": 1.0, "recall": 1.0}, None, False, "waiting for outcomes: 9 of the 10 needed"),
        ({"events": 10, "precision": None, "recall": 0.0}, None, False, "none of its alerts judged yet"),
        ({"events": 10, "precision": 0.4, "recall": 1.0}, None, False, "precision 0.40 is below the floor of 0.50"),
        (
            {"events": 12, "precision": 0.95, "recall": 0.8},
            {"precision": 0.9, "recall": 0.9},
            False,
            "not better than the active version: precision 0.95 vs 0.90, recall 0.80 vs 0.90 over 12 outcomes",
        ),
        (
            {"events": 12, "precision": 0.9, "recall": 0.9},
            {"precision": 0.9, "recall": 0.9},
            False,
            "no better than the active version",
        ),
        (
            {"events": 12, "precision": 0.9, "recall": 0.95},
            {"precision": 0.9, "recall": 0.9},
            True,
            "better than the active version: precision 0.90 vs 0.90, recall 0.95 vs 0.90 over 12 outcomes",
        ),
        ({"events": 10, "precision": 0.6, "recall": 0.5}, None, True, "better than the active version"),
        (
            {"events": 20, "precision": 1.0, "recall": 0.2},
            {"precision": 0.4, "recall": 0.2},
            False,
            "recall 0.20 is below the floor of 0.40",
        ),
    ],
)
def test_the_promotion_rule(challenger, champion, promoted, why):
    verdict = promotion_verdict(challenger, champion, min_events=10, min_precision=0.5, min_recall=0.4)

    assert verdict[0] is promoted
    assert verdict[1].startswith(why)


@pytest.fixture
def plant(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.RETRAIN_HISTORY_DAYS = 4
    with time_machine.travel(END, tick=False):
        yield plant_history_write()


def test_retraining_from_too_few_outcomes_trains_nothing_and_waits_a_day_to_try_again(plant, caplog):
    upkeep = ModelUpkeep(background=False)

    upkeep.run_due(now=END)
    upkeep.run_due(now=END + datetime.timedelta(hours=23))

    assert not ModelVersion.objects.exists()
    refusals = [record.message for record in caplog.records if record.message.startswith("no challenger trained")]
    assert refusals == [
        "no challenger trained: too few failure events to train on: 3 (failures 2 + preventive fixes 1) in the "
        "last 4 days; TRAINING_MIN_FAILURE_EVENTS is 10"
    ]


def test_retraining_on_schedule_trains_a_challenger_from_the_plant_outcomes_that_shadows_from_then(plant, settings):
    settings.TRAINING_MIN_FAILURE_EVENTS = 5
    settings.RETRAIN_EVERY_DAYS = 7
    with time_machine.travel(END, tick=False):
        pump_breakdown_write("P-C", down=25, up=27, seed=3)
        pump_breakdown_write("P-D", down=35, up=38, seed=4)
    upkeep = ModelUpkeep(background=False)

    upkeep.run_due(now=END)
    upkeep.run_due(now=END + datetime.timedelta(days=6))  # not due again before a week

    challenger = ModelVersion.objects.get()
    assert challenger.is_challenger
    assert not challenger.is_active
    assert (challenger.trained_at, challenger.shadow_since) == (END, END)
    assert challenger.version == "20260310-000000-plant-s1"
    assert "label_events {'failures': 4, 'preventive_fixes': 1, 'false_alarms': 1}" in challenger.data_description


def test_train_models_makes_a_challenger_only_of_a_forest_and_not_twice_with_unless_active(tmp_path):
    challenger = forest_version(tmp_path, "challenger", alarmed=0.5, challenger=True)

    with pytest.raises(CommandError, match="--challenger takes --kind random_forest and no --activate"):
        call_command("train_models", "--challenger", "--activate", "--kind=random_forest")
    with pytest.raises(CommandError, match="--challenger takes --kind random_forest"):
        call_command("train_models", "--challenger", "--kind=all")
    out = StringIO()
    call_command("train_models", "--challenger", "--kind=random_forest", "--unless-active", stdout=out)

    assert out.getvalue() == f"{challenger} is there: not training another.\n"
    assert ModelVersion.objects.get() == challenger
