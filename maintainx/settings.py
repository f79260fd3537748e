"""Settings for MaintainX, read from the environment (see README "Configuration").

Every variable has an embedded default so that `make demo` needs nothing installed: SQLite, an
in-memory channel layer and a broker on 127.0.0.1. A malformed value stops start-up with a
`SettingError` that names the variable.
"""

from pathlib import Path

from core.env import (
    SettingError,
    env_bool,
    env_choice,
    env_database,
    env_email_address,
    env_email_url,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_str,
    env_timezone,
    env_url,
)
from notifications.vapid import vapid_keys_problem

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

# A fixed development key only while DEBUG is on; a deployment must bring its own.
SECRET_KEY = env_str("SECRET_KEY") or (
    "django-insecure-maintainx-development-key-do-not-use-in-production" if DEBUG else None
)
if SECRET_KEY is None:
    raise SettingError("SECRET_KEY", "must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Its system checks for the settings below.
    "servestatic",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "realtime",
    "maintainx",
    "accounts",
    "telemetry",
    "catalogue",
    "predictor",
    "tickets",
    "notifications",
    "simulation",
    "operations",
    "demo",
]

# Calls that go up a layer, wired here (core.wiring): the app below calls the function named, and so
# never imports the app above it.
# telemetry → tickets: readings that carry the machine's own error code raise its alert and ticket.
MACHINE_REPORTS_HANDLER = "tickets.services.machine_reports_handle"
# predictor → tickets: new predictions raise, refresh or clear alerts.
PREDICTIONS_HANDLER = "tickets.services.predictions_handle"
# predictor ← tickets: the features count the hours since a machine's last repair (a resolved ticket).
LAST_REPAIRS_SELECTOR = "tickets.selectors.machine_last_repairs"
# predictor ← tickets: a health model never learns from the periods with alerts, tickets or a failure ahead.
HEALTH_FLAGGED_PERIODS_SELECTOR = "tickets.selectors.machine_flagged_periods"
# predictor ← tickets: the false alarms, which a health model learns from and keeps its threshold above.
HEALTH_CONFIRMED_NORMAL_SELECTOR = "tickets.selectors.machine_confirmed_normal_periods"
# predictor ← tickets: the failures, after which a health model learned from the days before one is retired.
HEALTH_FAILURES_SELECTOR = "tickets.selectors.machine_failure_times"
# predictor ← tickets: the plant's recorded outcomes, which a challenger in shadow is judged on.
PLANT_OUTCOMES_SELECTOR = "tickets.selectors.plant_outcomes"
# predictor ← tickets: the alerts the active version raised, which it is judged on beside a challenger.
RAISED_ALERTS_SELECTOR = "tickets.selectors.predicted_alert_spans"
# tickets → notifications: assignments, reassignments, escalations, comments and unassigned tickets
# tell the people concerned.
TICKET_NEWS_HANDLER = "notifications.services.ticket_news_handle"
# train_models --source: where history and its labels come from.
TRAINING_SOURCES = {
    "simulate": "simulation.training_data.simulated_history",
    "db": "simulation.training_data.stored_history",
    # Only what the plant recorded: breakdowns and resolved tickets' outcomes, never the simulator's truth.
    "plant": "tickets.training_data.plant_history",
}

MIDDLEWARE = [
    # First: probes from inside a container must not meet host validation or the HTTPS redirect.
    "operations.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # ASGI-native: WhiteNoise served files through a synchronous iterator, which Django's ASGI
    # handler consumes with a warning on every static request.
    "maintainx.static_files.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "maintainx.urls"
ASGI_APPLICATION = "maintainx.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env_database("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs the web server, listener and predictor in one process: WAL lets readers go on
    # while one writer commits, IMMEDIATE transactions take the write lock up front instead of
    # failing on upgrade, and busy_timeout makes a writer wait its turn instead of erroring.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    }
else:
    # django-postgres-extra's back-end: the standard one plus the partitions' DDL and introspection;
    # its app for the pgpartition command (operators). Neither can load without PostgreSQL.
    DATABASES["default"]["ENGINE"] = "psqlextra.backend"
    INSTALLED_APPS.append("psqlextra")
# Its back-end would otherwise create the hstore extension, which nothing here uses.
POSTGRES_EXTRA_AUTO_EXTENSION_SET_UP = False
PSQLEXTRA_PARTITIONING_MANAGER = "telemetry.partitions.manager"
# PostgreSQL: the readings' daily partitions are created this many days ahead (by the listener at
# start-up and every hour, and by `manage.py pgpartition --yes`), so a reading always has its partition.
READINGS_PARTITIONS_AHEAD_DAYS = env_int("READINGS_PARTITIONS_AHEAD_DAYS", default=7, minimum=1, maximum=366)
# Storage tiers (telemetry.services.rollup_tiers_upkeep, "Readings storage and retention" in the README):
# raw readings for READINGS_RAW_RETENTION_DAYS (what charts may read them for; prune_readings removes
# them), per-minute roll-ups for READINGS_MINUTES_RETENTION_DAYS, per-hour roll-ups for
# READINGS_HOURS_RETENTION_DAYS. Each tier is kept at least as long as the one below it: a chart then
# always finds its range in some tier.
READINGS_RAW_RETENTION_DAYS = env_int("READINGS_RAW_RETENTION_DAYS", default=30, minimum=1, maximum=3660)
READINGS_MINUTES_RETENTION_DAYS = env_int(
    "READINGS_MINUTES_RETENTION_DAYS",
    default=max(90, READINGS_RAW_RETENTION_DAYS),
    minimum=READINGS_RAW_RETENTION_DAYS,
    maximum=3660,
)
READINGS_HOURS_RETENTION_DAYS = env_int(
    "READINGS_HOURS_RETENTION_DAYS",
    default=max(3650, READINGS_MINUTES_RETENTION_DAYS),
    minimum=READINGS_MINUTES_RETENTION_DAYS,
    maximum=36600,
)
# PostgreSQL: a UTC day's raw readings are compacted into per-machine hour blocks (about 13 bytes a
# reading instead of 210) once the day has been over this many hours, so that late readings mostly
# arrive first (telemetry.services.readings_compact, run by the listener every hour).
READINGS_COMPACT_AFTER_HOURS = env_int("READINGS_COMPACT_AFTER_HOURS", default=3, minimum=0, maximum=30 * 24)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer (websockets) ------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", default=None, schemes=("redis", "rediss"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    # One process only: the demo's web server, listener and predictor share this layer.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- MQTT and prediction ------------------------------------------------------------------------
MQTT_URL = env_url("MQTT_URL", default="mqtt://127.0.0.1:1883", schemes=("mqtt", "mqtts"))
# Register a machine the first time its sensor publishes, instead of rejecting its readings.
TELEMETRY_AUTO_REGISTER = env_bool("TELEMETRY_AUTO_REGISTER", default=False)
# Sparkplug B: the groups (or group/edge_node) whose edge nodes the listener reads; empty: none.
# Sparkplug ids cannot hold the MQTT separators and wildcards / + #.
SPARKPLUG_GROUPS = env_list(
    "SPARKPLUG_GROUPS",
    default=[],
    item_pattern=r"[^/+#\s]+(/[^/+#\s]+)?",
    example="a group id or group/edge_node, e.g. plant1,plant2/gateway-3",
)
# Trained model versions live here, one directory each (their sha256 is checked on every load).
MODEL_ARTIFACT_DIR = Path(env_str("MODEL_ARTIFACT_DIR", default=str(BASE_DIR / "var" / "models")))
# A prediction at or above this failure probability raises an alert and opens a ticket.
PREDICTION_THRESHOLD = env_float("PREDICTION_THRESHOLD", default=0.8, minimum=0.01, maximum=1.0)
# Hysteresis, so that a probability hovering around the threshold does not open and close alerts
# every tick: an open alert clears itself only once the probability has stayed below
# ALERT_CLEAR_THRESHOLD for ALERT_CLEAR_MINUTES, and a machine whose alert cleared is not alerted
# again within ALERT_COOLDOWN_MINUTES unless its probability fell below PREDICTION_THRESHOLD and rose again.
ALERT_CLEAR_THRESHOLD = env_float("ALERT_CLEAR_THRESHOLD", default=0.5, minimum=0.0, maximum=1.0)
if ALERT_CLEAR_THRESHOLD >= PREDICTION_THRESHOLD:
    raise SettingError("ALERT_CLEAR_THRESHOLD", f"must be below PREDICTION_THRESHOLD ({PREDICTION_THRESHOLD})")
ALERT_CLEAR_MINUTES = env_int("ALERT_CLEAR_MINUTES", default=30, minimum=1, maximum=7 * 24 * 60)
ALERT_COOLDOWN_MINUTES = env_int("ALERT_COOLDOWN_MINUTES", default=60, minimum=0, maximum=7 * 24 * 60)
# After a person said a predicted alert was false (its ticket resolved as a false alarm, or marked false), no new
# one opens for the machine until its probability fell below ALERT_CLEAR_THRESHOLD, for at most this long.
ALERT_FALSE_HOLD_HOURS = env_float("ALERT_FALSE_HOLD_HOURS", default=168.0, minimum=0.0, maximum=24.0 * 365)
# An open ticket nobody has started after this long is escalated to the supervisors, once.
TICKET_ESCALATE_MINUTES = env_int("TICKET_ESCALATE_MINUTES", default=30, minimum=1, maximum=7 * 24 * 60)

# Health models (predictor.health): each machine learns its own normal from this many days of usable
# data (no alert, ticket or failure ahead), sampled every HEALTH_SAMPLE_MINUTES from a rolling window of
# HEALTH_WINDOW_DAYS, relearned every HEALTH_RELEARN_HOURS; its threshold is the score its own held-out
# normal samples pass at HEALTH_FALSE_ALARM_RATE, and past it for HEALTH_ALERT_MINUTES raises an anomaly alert.
HEALTH_LEARNING_DAYS = env_float("HEALTH_LEARNING_DAYS", default=3.0, minimum=0.25, maximum=90.0)
HEALTH_WINDOW_DAYS = env_float("HEALTH_WINDOW_DAYS", default=14.0, minimum=1.0, maximum=365.0)
if HEALTH_WINDOW_DAYS < HEALTH_LEARNING_DAYS:
    raise SettingError("HEALTH_WINDOW_DAYS", f"must be at least HEALTH_LEARNING_DAYS ({HEALTH_LEARNING_DAYS})")
HEALTH_SAMPLE_MINUTES = env_int("HEALTH_SAMPLE_MINUTES", default=10, minimum=1, maximum=24 * 60)
HEALTH_RELEARN_HOURS = env_float("HEALTH_RELEARN_HOURS", default=24.0, minimum=1.0, maximum=90 * 24.0)
HEALTH_LEARNING_CHECK_MINUTES = env_int("HEALTH_LEARNING_CHECK_MINUTES", default=60, minimum=1, maximum=24 * 60)
HEALTH_PRE_FAILURE_DAYS = env_float("HEALTH_PRE_FAILURE_DAYS", default=5.0, minimum=0.0, maximum=90.0)
# A model a later failure shows learned from the days before it (a fault developing, taken for normal) is
# replaced by one learned from the clean days there are, if at least this many, before the full
# learning period is back; with fewer the machine has no model until then.
HEALTH_RELEARN_MIN_DAYS = env_float("HEALTH_RELEARN_MIN_DAYS", default=1.0, minimum=0.25, maximum=90.0)
HEALTH_FALSE_ALARM_RATE = env_float("HEALTH_FALSE_ALARM_RATE", default=1 / 3000, minimum=1e-7, maximum=0.1)
HEALTH_ALERT_MINUTES = env_int("HEALTH_ALERT_MINUTES", default=60, minimum=0, maximum=24 * 60)
# On a machine the forest never learned, a forest alert opens only while the machine's own health model
# sees its health below this (0-100, 50 is its threshold), not while it is still learning: a forest
# trained on another plant is not believed on its own.
FOREST_ALERT_HEALTH_BELOW = env_float("FOREST_ALERT_HEALTH_BELOW", default=60.0, minimum=0.0, maximum=100.0)
# A forest trained on the plant's own outcomes (the challengers, train_models --source plant) is held to
# the same on every machine: a crew's outcomes are few and some are wrong, and on plant B (bench-learning,
# seed 11) the forests promoted from them raised 7 false alerts in weeks 4-8 when believed, none when not.
FOREST_FROM_OUTCOMES_NEEDS_HEALTH = env_bool("FOREST_FROM_OUTCOMES_NEEDS_HEALTH", default=True)
# The predictor learns at most this many machines between two ticks, so learning never holds a tick up.
HEALTH_LEARN_PER_TICK = env_int("HEALTH_LEARN_PER_TICK", default=5, minimum=0, maximum=10_000)
# Drift (predictor.drift): the admin warns, and the predictor logs, when a machine type's live feature rows are
# past this population stability index from the active forest's training rows. The usual reading of PSI: below
# 0.1 stable, 0.1 to 0.25 a moderate shift worth watching, above 0.25 a significant one (retrain).
DRIFT_PSI_WARNING = env_float("DRIFT_PSI_WARNING", default=0.25, minimum=0.01, maximum=100.0)
# train_models --source plant refuses a history with fewer failure events than this (failures plus
# preventive fixes, the faults the forest can learn to see coming): a model from a handful is noise.
TRAINING_MIN_FAILURE_EVENTS = env_int("TRAINING_MIN_FAILURE_EVENTS", default=10, minimum=1, maximum=1_000_000)
# Champion and challenger (predictor.challengers): run_predictor trains a challenger forest from the plant's
# own outcomes of the last RETRAIN_HISTORY_DAYS every RETRAIN_EVERY_DAYS (0: never), which scores in shadow and
# is judged every SHADOW_EVALUATE_MINUTES. MODEL_PROMOTION "automatic" promotes it once it is at least as good as
# the active version on precision and recall, better on one, over MODEL_PROMOTION_MIN_EVENTS outcomes, with a
# precision of at least MODEL_PROMOTION_MIN_PRECISION and a recall of at least MODEL_PROMOTION_MIN_RECALL;
# "manual" leaves that to a supervisor in the admin.
RETRAIN_EVERY_DAYS = env_float("RETRAIN_EVERY_DAYS", default=7.0, minimum=0.0, maximum=365.0)
RETRAIN_HISTORY_DAYS = env_float("RETRAIN_HISTORY_DAYS", default=30.0, minimum=1.0, maximum=3650.0)
SHADOW_EVALUATE_MINUTES = env_int("SHADOW_EVALUATE_MINUTES", default=60, minimum=1, maximum=7 * 24 * 60)
MODEL_PROMOTION = env_choice("MODEL_PROMOTION", default="automatic", choices=("automatic", "manual"))
MODEL_PROMOTION_MIN_EVENTS = env_int("MODEL_PROMOTION_MIN_EVENTS", default=20, minimum=1, maximum=1_000_000)
MODEL_PROMOTION_MIN_PRECISION = env_float("MODEL_PROMOTION_MIN_PRECISION", default=0.8, minimum=0.0, maximum=1.0)
# A forest that sees fewer than half of the plant's outcomes coming is no improvement, however precise: beside a
# poor active forest, one trained on 30 % flipped outcomes won on precision alone (make bench-learning).
MODEL_PROMOTION_MIN_RECALL = env_float("MODEL_PROMOTION_MIN_RECALL", default=0.5, minimum=0.0, maximum=1.0)
# ... and it must have stayed so at every evaluation for this long: a verdict over some twenty outcomes can tip on one
# (on plant B a forest trained on 30 % flipped outcomes passed the recall floor for half a day; make bench-learning).
MODEL_PROMOTION_SUSTAIN_HOURS = env_float("MODEL_PROMOTION_SUSTAIN_HOURS", default=24.0, minimum=0.0, maximum=24.0 * 90)

# --- Ticket photos -------------------------------------------------------------------------------
# Files no URL serves: the views that send them check who asks (tickets/photo_apis.py). Outside
# STATIC_ROOT and any served folder, backed up with the database.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "private-media")))
# A photo larger than this (as uploaded) is refused; tablet cameras write 2-8 MB.
TICKET_PHOTO_MAX_MB = env_int("TICKET_PHOTO_MAX_MB", default=10, minimum=1, maximum=100)

# --- Notifications (README "Notifications") -----------------------------------------------------
# Email through Django's email backend; the default prints the messages (the demo's console).
# It sets EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS/SSL.
globals().update(env_email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env_email_address("DEFAULT_FROM_EMAIL", default="MaintainX <maintainx@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The dashboard's address, for absolute links in emails (a push notification's link is a path).
SITE_URL = env_url("SITE_URL", default="http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
# Web Push: the application server's key pair (notifications/vapid.py; generate one with
# `python manage.py vapid_keys`) and the contact the push services may write to (mailto: or https:).
# Unset: push is off (the demo generates its own into var/demo-vapid.json).
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY")
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY")
VAPID_SUBJECT = env_str("VAPID_SUBJECT")
if VAPID_PUBLIC_KEY or VAPID_PRIVATE_KEY:
    for _name, _value in (("VAPID_PUBLIC_KEY", VAPID_PUBLIC_KEY), ("VAPID_PRIVATE_KEY", VAPID_PRIVATE_KEY)):
        if not _value:
            raise SettingError(_name, "must be set with the other VAPID key (both or neither)")
    _problem = vapid_keys_problem(public_key=VAPID_PUBLIC_KEY, private_key=VAPID_PRIVATE_KEY)
    if _problem is not None:
        raise SettingError(*_problem)
    if not VAPID_SUBJECT or not VAPID_SUBJECT.startswith(("mailto:", "https://")):
        raise SettingError(
            "VAPID_SUBJECT", "must be a mailto: or https: contact when the VAPID keys are set", VAPID_SUBJECT
        )
# A flood: past NOTIFY_DIGEST_AFTER notifications for one person within NOTIFY_DIGEST_WINDOW_SECONDS,
# the rest of the window's are told in one digest at its end.
NOTIFY_DIGEST_AFTER = env_int("NOTIFY_DIGEST_AFTER", default=5, minimum=1, maximum=1000)
NOTIFY_DIGEST_WINDOW_SECONDS = env_int("NOTIFY_DIGEST_WINDOW_SECONDS", default=60, minimum=1, maximum=24 * 3600)
# A failed delivery is retried after NOTIFY_RETRY_SECONDS, doubling each time up to an hour, and
# given up after NOTIFY_MAX_ATTEMPTS attempts (its status stays in the admin).
NOTIFY_RETRY_SECONDS = env_int("NOTIFY_RETRY_SECONDS", default=30, minimum=1, maximum=3600)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", default=10, minimum=1, maximum=100)

# --- HTTPS, when DEBUG is off ------------------------------------------------------------------
# Production sits behind a TLS-terminating proxy that sets X-Forwarded-Proto (see docker-compose.yml).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # A year, the HSTS preload list's minimum; start lower (e.g. 3600) while trying HTTPS out.
    SECURE_HSTS_SECONDS = env_int(
        "SECURE_HSTS_SECONDS", default=365 * 24 * 3600, minimum=0, maximum=2 * 365 * 24 * 3600
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Auth, API ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

REST_FRAMEWORK = {
    # Token first so that an anonymous request gets 401 with a WWW-Authenticate header, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.HasRole"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.LimitOffsetPaginationCapped",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Slows password guessing; per process, which is enough for one web process.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"login": env_rate("LOGIN_RATE", default="20/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MaintainX API",
    "DESCRIPTION": "Machines, telemetry, predictions, alerts, tickets and SOPs of the plant.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets used by several fields get one name each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "AlertStatusEnum": "tickets.models.AlertStatus",
        "SeverityEnum": "tickets.models.Severity",
        "MachineStatusEnum": "telemetry.models.MachineStatus",
        # The error codes' failure mode and the one a technician found on resolving: one list.
        "FailureModeEnum": "catalogue.models.FailureMode",
    },
}

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Shifts are plant-local wall-clock times, so the plant's zone matters; storage stays in UTC.
TIME_ZONE = env_timezone("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and the built dashboard -------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
# Vite builds with base /static/, so its output is served as static files; index.html is served at /.
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "servestatic.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development serve straight from the apps and frontend/dist, without collectstatic.
SERVESTATIC_USE_FINDERS = DEBUG
SERVESTATIC_AUTOREFRESH = DEBUG

LOG_FORMAT = env_choice("LOG_FORMAT", default="plain", choices=("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "maintainx.log_format.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
}
