"""Django settings for Bowtie, all read from `bowtie.environment`."""

from datetime import timedelta

import dj_database_url

from bowtie.environment import DEVELOPMENT_SECRET_KEY, REPOSITORY_ROOT, load_environment

ENV = load_environment()
BASE_DIR = REPOSITORY_ROOT
DATA_DIR = ENV.data_dir
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = ENV.is_development
SECRET_KEY = ENV.secret_key or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = ENV.allowed_hosts
BOWTIE_BASE_URL = ENV.base_url.rstrip("/")
CSRF_TRUSTED_ORIGINS = [BOWTIE_BASE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "djmoney",
    "djmoney.contrib.exchange",
    "django_htmx",
    "bowtie",
    "handoffs",
    "expansion",
    "partners",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "bowtie.urls"
WSGI_APPLICATION = "bowtie.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bowtie.context_processors.current_person",
            ],
        },
    },
]

# SQLite is the embedded default so `make run` needs nothing installed.
DATABASES = {
    "default": dj_database_url.parse(
        ENV.database_url or f"sqlite:///{DATA_DIR / 'bowtie.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share one file: wait for the write lock instead of
    # failing, and let readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests in a file too, not in shared memory: there a request that reads a
    # table another thread is writing fails at once ("table is locked"), where
    # the portal's file lets it read. The browser tests' server has both.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-bowtie.sqlite3")}
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Only statements bound by the server (bowtie.compiled_queries) can be
    # prepared; Django's own cursors bind on the client.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        ENV.prepare_threshold
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if ENV.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": ENV.redis_url,
        }
    }
else:
    # Shared by every process on the machine, so the form rate limit and the
    # API's per-token throttle hold across web workers without a cache server.
    # Only on one machine, though: web servers on several hosts need REDIS_URL,
    # or each host counts a token's requests apart and lets through its rate
    # once per host. Never a local-memory cache here (tests use one): every
    # worker process would count alone, multiplying the rate by their number.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "bowtie" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Outbound webhooks post only to public addresses; an installation whose CRM
# middleware sits on its own network says so here.
BOWTIE_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = ENV.webhooks_allow_private_addresses

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bowtie.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "bowtie.api.errors.exception_handler",
    # Which also loads the token scheme beside it, for the schema's security.
    "DEFAULT_SCHEMA_CLASS": "bowtie.api.schema.ScopedAutoSchema",
    # Every API view, the other apps' too, counts against its caller's rate.
    "DEFAULT_THROTTLE_CLASSES": ["bowtie.api.throttling.ApiRateThrottle"],
}
BOWTIE_API_RATE_PER_MINUTE = ENV.api_rate_per_minute

# The OpenAPI schema at /api/schema and its page at /api/docs, which loads
# Swagger UI from drf-spectacular-sidecar's static files, served by the app
# like every other asset: an install without internet keeps its docs.
SPECTACULAR_SETTINGS = {
    "TITLE": "Bowtie API",
    "DESCRIPTION": (
        "Leads, deals, handoffs and the core records a CRM syncs. Send "
        "`Authorization: Bearer <key>`; each resource names the scopes it needs."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: it would send the schema's address to swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Choice sets that share a field name, or serve two fields, named once.
    "ENUM_NAME_OVERRIDES": {
        "HandoffKindEnum": "handoffs.models.Handoff.Kind",
        "PacketItemKindEnum": "handoffs.models.PacketItem.Kind",
        # A person's role, and the roles an ownership band names.
        "PersonRoleEnum": "bowtie.models.Person.Role",
        "SignalKindEnum": "expansion.models.SignalKind",
        "SignalStatusEnum": "expansion.models.Signal.Status",
    },
}
# An Idempotency-Key replays its first answer this long, then the key is free.
BOWTIE_IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)
# Leads one POST /api/leads/batch may carry: a batch answers when its last lead
# is routed, and a hundred stay well inside a web worker's timeout.
BOWTIE_LEAD_BATCH_LIMIT = 100

if ENV.email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": ENV.email_host,
                "port": ENV.email_port,
                "username": ENV.email_user,
                "password": ENV.email_password,
                "use_tls": ENV.email_use_tls,
                "timeout": 20,
            },
        }
    }
else:
    # Without a mail server, messages land as files a developer can open.
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(DATA_DIR / "mail")},
        }
    }
DEFAULT_FROM_EMAIL = ENV.email_from

# Celery: Redis when configured, otherwise a folder-based broker that needs no
# server, so worker and beat run beside the web process on a bare laptop.
if ENV.redis_url:
    CELERY_BROKER_URL = ENV.redis_url
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    broker_dir = DATA_DIR / "broker"
    for folder in ("queue", "processed", "control"):
        (broker_dir / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "control_folder": str(broker_dir / "control"),
        "processed_folder": str(broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Celery's Django integration closes every database connection around each
# task unless it may reuse them, and a new PostgreSQL connection per e-mail
# cost the worker more than the e-mail. Tasks reuse them as requests do:
# bowtie.celery closes them when older than CONN_MAX_AGE or broken. The
# integration's own recycling, after this many tasks, is only a backstop.
CELERY_DB_REUSE_MAX = 10_000

BOWTIE_SWEEP_INTERVAL = timedelta(seconds=ENV.sweep_interval_seconds)
BOWTIE_OUTBOX_RETRY_AFTER = timedelta(seconds=ENV.outbox_retry_after_seconds)
BOWTIE_OUTBOX_RELAY = ENV.runs_outbox_relay
BOWTIE_OUTBOX_SENDERS = ENV.outbox_senders
BOWTIE_FORM_RATE_LIMIT = ENV.form_rate_limit
if ENV.client_ip_header:
    RATELIMIT_IP_META_KEY = "HTTP_" + ENV.client_ip_header.upper().replace("-", "_")
BOWTIE_SAMPLE_DATA = ENV.sample_data_dir
BOWTIE_BENCHMARK_ENDPOINTS = ENV.benchmark_endpoints
BOWTIE_HYPERCARE_DAYS = ENV.hypercare_days

CELERY_BEAT_SCHEDULE = {
    "sweep-clocks": {
        "task": "handoffs.tasks.sweep_clocks",
        "schedule": BOWTIE_SWEEP_INTERVAL,
        "options": {"expires": ENV.sweep_interval_seconds * 0.9},
    },
    "redeliver-outbox": {
        "task": "bowtie.tasks.redeliver_outbox",
        "schedule": BOWTIE_OUTBOX_RETRY_AFTER,
        "options": {"expires": ENV.outbox_retry_after_seconds * 0.9},
    },
    # Webhook retries start a minute apart: a sweep every 15 s keeps them close.
    "send-due-webhooks": {
        "task": "bowtie.tasks.send_due_webhooks",
        "schedule": timedelta(seconds=15),
        "options": {"expires": 13},
    },
    # Hourly, so a report missed while the scheduler was down goes out at its
    # next run; each team's report of a week is sent once.
    "weekly-compliance-reports": {
        "task": "handoffs.tasks.send_weekly_compliance_reports",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # The SLA reports' rhythm: hourly, each team's review of a week sent once,
    # and a review missed while the scheduler was down sent at its next run.
    "weekly-operating-reviews": {
        "task": "handoffs.tasks.send_weekly_operating_reviews",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    "watch-heartbeats": {
        "task": "bowtie.tasks.watch_heartbeats",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    # Indicators read windows of whole days, so hourly is soon enough. An
    # open alert is not opened twice, and its notices are sent once.
    "evaluate-indicators": {
        "task": "bowtie.tasks.evaluate_indicators",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # Hourly is enough: an expired key is already ignored when it is looked up.
    "delete-expired-idempotency-keys": {
        "task": "bowtie.tasks.delete_expired_idempotency_keys",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # Health is a score a day; every 6 hours so a missed run is made up the
    # same day. Scoring a day again rewrites its row.
    "score-health": {
        "task": "partners.tasks.score_health",
        "schedule": timedelta(hours=6),
        "options": {"expires": 5 * 3600},
    },
    # Partner invitations a crashed worker or a down broker left pending.
    "send-pending-partner-invitations": {
        "task": "partners.tasks.send_pending_partner_invitations",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    # Hypercare ends on a day, so hourly is soon enough; an engagement is
    # claimed with a skipped lock, and an incomplete packet is told once.
    "sweep-hypercare": {
        "task": "partners.tasks.sweep_hypercare",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # Renewal actions are due on a day; hourly fires each within its day's
    # first hour and catches up after downtime. Claimed rows fire once.
    "sweep-renewal-actions": {
        "task": "expansion.tasks.sweep_renewal_actions",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    },
    # Signal rules over imported usage, as of today; every 6 hours so a run
    # missed is made up the same day. An open signal is not raised twice.
    "evaluate-signal-rules": {
        "task": "expansion.tasks.evaluate_signal_rules",
        "schedule": timedelta(hours=6),
        "options": {"expires": 5 * 3600},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": ENV.log_level},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = ENV.base_url.startswith("https://")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Money: every amount carries its currency; reports convert to this one, at
# the dated rates RevOps keeps (bowtie.exchange, ExchangeRate).
BOWTIE_BASE_CURRENCY = ENV.base_currency
DEFAULT_CURRENCY = BOWTIE_BASE_CURRENCY
