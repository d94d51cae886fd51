"""Settings, read from the environment with safe local defaults.

Embedded mode (the default) needs nothing: SQLite under ./data, the in-memory channel
layer and the in-process event bus. Distributed mode sets DATABASE_URL, REDIS_URL and
EVENT_BACKEND=dapr. See the README's "Settings" table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from todo_project.installation import installation_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "data"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc


DEBUG = env_bool("DEBUG", default=True)
# A local run gets a key of its own, generated into the data folder (installation.py);
# with DEBUG off every replica must share one, so it must be given.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY (shared by every replica).")
    SECRET_KEY = installation_secret_key(DATA_DIR)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
TESTING = "pytest" in sys.modules or "test" in sys.argv[1:2]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_htmx",
    "template_partials",
    "channels",
    # Serves Swagger UI from its own static files (no CDN) under our CSP.
    "ninja",
    "todo_project.accounts",
    "todo_project.eventbus",
    "tasks",
    "notifications",
    "realtime",
]

MIDDLEWARE = [
    "todo_project.observability.TraceContextMiddleware",
    "todo_project.observability.MetricsMiddleware",
    # Compresses what the middleware below and the views produce (pages, fragments, JSON).
    # BREACH: the only secret in a page is the CSRF token, which Django masks anew on every
    # response, and the session cookie never appears in a body.
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "todo_project.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "todo_project.accounts.middleware.ThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "todo_project.middleware.HtmxLoginRedirectMiddleware",
    "todo_project.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "todo_project.urls"
ASGI_APPLICATION = "todo_project.asgi.application"

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
                "tasks.context_processors.undo_offer",
            ],
        },
    },
]

DATA_DIR.mkdir(parents=True, exist_ok=True)
# DATABASE_URL_SECRET ("name" or "name/key") reads the URL through the Dapr secrets API
# from DAPR_SECRET_STORE instead (distributed mode; see todo_project/dapr_secrets.py).
DAPR_SECRET_STORE = os.environ.get("DAPR_SECRET_STORE", "localsecretstore")
DATABASE_URL_SECRET = os.environ.get("DATABASE_URL_SECRET", "")
if DATABASE_URL_SECRET and not os.environ.get("DATABASE_URL"):
    from todo_project.dapr_secrets import read_secret

    DATABASE_URL = read_secret(DAPR_SECRET_STORE, DATABASE_URL_SECRET)
else:
    DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'todo.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the embedded relay and handlers read while a request writes; a busy timeout
    # makes concurrent writers wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not Django's shared in-memory database: concurrency tests need SQLite's real
    # locking (busy timeout), as in embedded mode. One per process so parallel runs don't meet.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if IS_POSTGRES and env_bool("DB_POOL", default=True):
    # Under ASGI every request runs its sync code in a thread of its own, so CONN_MAX_AGE
    # cannot keep a connection: without a pool each request opens one (~6 ms here).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DB_POOL_MAX_SIZE", 10),
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Error pages and reports mask the passwords inside DATABASE_URL, REDIS_URL, ...
DEFAULT_EXCEPTION_REPORTER_FILTER = "todo_project.error_reports.CredentialSafeReporterFilter"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["todo_project.accounts.backends.ThrottledModelBackend"]
# Credential endpoints (todo_project/accounts/throttle.py), in the syntax of `limits`.
RATE_LIMITS = {
    "credentials-per-address": os.environ.get("RATE_LIMIT_CREDENTIALS", "20/minute"),
    "signups-per-address": os.environ.get("RATE_LIMIT_SIGNUPS", "5/hour"),
    "failures-per-username": os.environ.get("RATE_LIMIT_LOGIN_FAILURES", "10/15minutes"),
    # The calendar feed's URL is a credential: requests per address (known URL or not),
    # and per URL (a leaked one cannot keep the database busy).
    "calendar-feeds-per-address": os.environ.get("RATE_LIMIT_CALENDAR_FEEDS", "60/minute"),
    "calendar-feed-per-url": os.environ.get("RATE_LIMIT_CALENDAR_FEED_URL", "120/hour"),
}
# Password hashing at once per process: half the cores, so a flood of sign-ins always
# leaves CPU to everyone else (throttle.py).
PASSWORD_CHECKS_AT_ONCE = env_int("PASSWORD_CHECKS_AT_ONCE", max(1, (os.cpu_count() or 2) // 2))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
_NODE_MODULES = BASE_DIR / "static" / "node_modules"
STATICFILES_DIRS = [
    ("app", BASE_DIR / "static" / "app"),
    ("vendor/htmx", _NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/htmx-ext-ws", _NODE_MODULES / "htmx-ext-ws"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Security: cookies and headers. HTTPS-only settings follow DEBUG so embedded mode
# works on http://127.0.0.1 while production is strict.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$", r"^job/"]

# JSON Web Tokens for the API. Tokens issued by another identity provider are accepted
# when it signs with the same key and algorithm and sets the same issuer and audience.
JWT_SIGNING_KEY = os.environ.get("JWT_SIGNING_KEY", SECRET_KEY)
JWT_VERIFYING_KEY = os.environ.get("JWT_VERIFYING_KEY", JWT_SIGNING_KEY)
JWT_ALGORITHM = os.environ.get("JWT_ALGORITHM", "HS256")
JWT_ISSUER = os.environ.get("JWT_ISSUER", "todo")
JWT_AUDIENCE = os.environ.get("JWT_AUDIENCE", "todo-api")
JWT_ACCESS_TTL_SECONDS = env_int("JWT_ACCESS_TTL_SECONDS", 15 * 60)
JWT_REFRESH_TTL_SECONDS = env_int("JWT_REFRESH_TTL_SECONDS", 7 * 24 * 3600)
JWT_USER_CLAIM = os.environ.get("JWT_USER_CLAIM", "sub")
JWT_LEEWAY_SECONDS = env_int("JWT_LEEWAY_SECONDS", 30)
# Accept tokens of an identity provider sharing the key (no token family): they name a
# user by JWT_USER_CLAIM only and cannot be revoked here. Off: only our own tokens.
JWT_ACCEPT_EXTERNAL = env_bool("JWT_ACCEPT_EXTERNAL", default=False)

# Events. "local": the in-process bus; "dapr": Dapr pub/sub, state store and jobs.
EVENT_BACKEND = os.environ.get("EVENT_BACKEND", "local")
if EVENT_BACKEND not in {"local", "dapr"}:
    raise ImproperlyConfigured("EVENT_BACKEND must be 'local' or 'dapr'")
# The web process runs the relay, the handlers and the reminder scheduler in-process in
# embedded mode. In a deployment they belong to `manage.py worker` instead.
RUN_EMBEDDED_WORKER = env_bool("RUN_EMBEDDED_WORKER", default=EVENT_BACKEND == "local")
DAPR_PUBSUB_NAME = os.environ.get("DAPR_PUBSUB_NAME", "pubsub")
DAPR_STATESTORE_NAME = os.environ.get("DAPR_STATESTORE_NAME", "statestore")
APP_API_TOKEN = os.environ.get("APP_API_TOKEN", "")
DEDUP_TTL_SECONDS = env_int("DEDUP_TTL_SECONDS", 7 * 24 * 3600)
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 7)
OUTBOX_POLL_SECONDS = float(os.environ.get("OUTBOX_POLL_SECONDS", "5"))
# Short enough that a backlog drains within seconds of a sidecar coming back.
OUTBOX_MAX_ATTEMPTS_BACKOFF_SECONDS = float(os.environ.get("OUTBOX_MAX_BACKOFF_SECONDS", "5"))
# A reminder job the worker did not take (restarting, database down) is triggered again
# every REMINDER_JOB_RETRY_SECONDS, up to REMINDER_JOB_MAX_RETRIES times (an hour).
REMINDER_JOB_RETRY_SECONDS = env_int("REMINDER_JOB_RETRY_SECONDS", 5)
REMINDER_JOB_MAX_RETRIES = env_int("REMINDER_JOB_MAX_RETRIES", 720)
HANDLER_MAX_ATTEMPTS = env_int("HANDLER_MAX_ATTEMPTS", 5)
# A port of its own for the web's /metrics (daphne listens on both): /metrics then answers
# 404 on the public port, so an ingress routing to that port cannot expose it. 0: no split.
METRICS_PORT = env_int("METRICS_PORT", 0)
# Bearer token that lets operators read /metrics and the details of /readyz from anywhere
# (todo_project/operators.py); empty: loopback and the metrics port only.
OPERATOR_TOKEN = os.environ.get("OPERATOR_TOKEN", "")
WORKER_HOST = os.environ.get("WORKER_HOST", "127.0.0.1")
WORKER_PORT = env_int("WORKER_PORT", 8001)
# Messages of one topic the Dapr worker handles at once (one per Kafka partition at most:
# daprd sends a partition's next message only after the last one's acknowledgement).
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 4)

# Webhooks (notifications/webhooks.py). Private, loopback, link-local and other
# non-public targets (and plain http) are refused unless an operator allows them (tests).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Attempts per delivery; retries back off exponentially (with jitter) from
# WEBHOOK_BACKOFF_SECONDS up to WEBHOOK_MAX_BACKOFF_SECONDS.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10)
WEBHOOK_BACKOFF_SECONDS = float(os.environ.get("WEBHOOK_BACKOFF_SECONDS", "10"))
WEBHOOK_MAX_BACKOFF_SECONDS = float(os.environ.get("WEBHOOK_MAX_BACKOFF_SECONDS", "3600"))
# Failed attempts in a row after which an endpoint is disabled and its owner notified.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20)
# How long the previous secret still signs after a rotation (0: not at all).
WEBHOOK_SECRET_GRACE_HOURS = env_int("WEBHOOK_SECRET_GRACE_HOURS", 24)
WEBHOOK_POLL_SECONDS = float(os.environ.get("WEBHOOK_POLL_SECONDS", "5"))
# Finished deliveries (and their attempts) stay in the log this long.
WEBHOOK_LOG_RETENTION_DAYS = env_int("WEBHOOK_LOG_RETENTION_DAYS", 30)
WEBHOOK_CONCURRENCY = env_int("WEBHOOK_CONCURRENCY", 4)

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
# Where the rate limits count: shared by every replica through Redis when there is one.
RATE_LIMIT_STORAGE = os.environ.get("RATE_LIMIT_STORAGE", REDIS_URL or "memory://")

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "todo@localhost")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
# Reminder e-mails (notifications/email.py): a failed send is retried after 30 s, 60 s,
# 120 s, ... (at most an hour apart), and given up after this many attempts.
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 8)
EMAIL_RETRY_BASE_SECONDS = env_int("EMAIL_RETRY_BASE_SECONDS", 30)
EMAIL_RETRY_MAX_SECONDS = env_int("EMAIL_RETRY_MAX_SECONDS", 3600)
# Where this site is reached from outside: links in e-mails and calendar feed URLs.
SITE_URL = (os.environ.get("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")
# The calendar feed holds at most this many tasks (the soonest due).
CALENDAR_FEED_MAX_TASKS = env_int("CALENDAR_FEED_MAX_TASKS", 500)

# Web push of reminders (notifications/webpush.py). Off until a VAPID key pair is set
# (`manage.py webpush_keys` makes one); the public key may be left out, it follows from
# the private one. The subject is the contact push services may write to (mailto: or https:).
WEBPUSH_VAPID_PRIVATE_KEY = os.environ.get("WEBPUSH_VAPID_PRIVATE_KEY", "")
WEBPUSH_VAPID_PUBLIC_KEY = os.environ.get("WEBPUSH_VAPID_PUBLIC_KEY", "")
WEBPUSH_VAPID_SUBJECT = os.environ.get("WEBPUSH_VAPID_SUBJECT", f"mailto:{DEFAULT_FROM_EMAIL}")
WEBPUSH_TTL_SECONDS = env_int("WEBPUSH_TTL_SECONDS", 12 * 3600)
WEBPUSH_TIMEOUT_SECONDS = float(os.environ.get("WEBPUSH_TIMEOUT_SECONDS", "10"))
WEBPUSH_MAX_ATTEMPTS = env_int("WEBPUSH_MAX_ATTEMPTS", 6)
# Push endpoints must be https on a public address; true lets http and private, loopback
# and link-local targets through (a test push service on 127.0.0.1).
WEBPUSH_ALLOW_PRIVATE_TARGETS = env_bool("WEBPUSH_ALLOW_PRIVATE_TARGETS", default=False)

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"trace": {"()": "todo_project.observability.TraceContextFilter"}},
    "formatters": {
        "json": {"()": "todo_project.observability.JsonFormatter"},
        "text": {
            "()": "todo_project.observability.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["trace"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's own console handler on "django", which would print lines twice.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}
