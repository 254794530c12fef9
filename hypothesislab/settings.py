"""One settings module: every value comes from an environment variable with a working
default. With nothing set, the app runs on its embedded default: SQLite, tasks
in-process, local-memory cache, files under ./var."""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
TESTING = "pytest" in sys.modules or env_bool("HYPOTHESISLAB_TESTING")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# A one-off `manage.py` command (import_dataset, migrate, analyze --dataset...) signs
# nothing that outlives it, so it runs in a fresh shell without a key; serving pages
# (runserver, or the ASGI/WSGI server that never goes through manage.py) needs one.
ONE_OFF_COMMAND = (os.environ.get("HYPOTHESISLAB_COMMAND") or "runserver") != "runserver"
if not SECRET_KEY:
    if not DEBUG and not TESTING and not ONE_OFF_COMMAND:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var" / "data"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "accounts",
    "analytics",
    "sessions.apps.WorkSessionsConfig",
    "ops",
    # ninja only for its vendored Swagger UI files (the API docs page uses no CDN).
    "ninja",
    "api",
    "segments",
    "dashboards",
    "explore",
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
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "hypothesislab.urls"
WSGI_APPLICATION = "hypothesislab.wsgi.application"
ASGI_APPLICATION = "hypothesislab.asgi.application"

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
                "accounts.context_processors.current_team",
            ],
        },
    },
]

# SQLite by default, in WAL mode with a busy timeout and IMMEDIATE transactions, so a web
# process and a worker can write at once without "database is locked" errors.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASE_ROUTERS = ["hypothesislab.dbrouter.LiveRouter"]
# Threads serving the sync views under ASGI (hypothesislab/asgi.py), per web process: as
# many as its database pool has connections (more would wait for one).
WEB_THREADS = int(os.environ.get("WEB_THREADS") or os.environ.get("DB_POOL_SIZE") or 8)
if DATABASE_URL:
    # No persistent connections: requests run in threads (hypothesislab/asgi.py) and the
    # stream's drawings in others, and a connection kept per thread would sit idle.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    # ...so each web process shares a pool instead: a meeting of 200 members writing at
    # once waits for a connection rather than exhausting PostgreSQL's. (Not in the test
    # suite, whose database is created and dropped under the pool's feet.)
    DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", 8))
    if DB_POOL_SIZE and not TESTING and "postgresql" in DATABASES["default"]["ENGINE"]:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1, "max_size": DB_POOL_SIZE, "timeout": 30}
        # The live pages' drawings have a small pool of their own (hypothesislab.dbrouter):
        # writes queueing for the main pool never hold up what every member sees.
        DATABASES["live"] = {**DATABASES["default"], "OPTIONS": {
            **DATABASES["default"]["OPTIONS"],
            "pool": {"min_size": 1, "max_size": 2, "timeout": 30}}}
else:
    SQLITE_PATH = Path(os.environ.get("SQLITE_PATH", BASE_DIR / "var" / "db.sqlite3"))
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses a log-in attempt while its email or address has failed too often; the
    # password itself is checked by ModelBackend, which signing up also names.
    "accounts.throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed log-ins allowed per window: for one email from one address, for one email from
# anywhere, and from one address whatever the email.
LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60))
LOGIN_THROTTLE_PER_EMAIL_AND_ADDRESS = int(os.environ.get("LOGIN_THROTTLE_PER_EMAIL_AND_ADDRESS", 5))
LOGIN_THROTTLE_PER_EMAIL = int(os.environ.get("LOGIN_THROTTLE_PER_EMAIL", 20))
LOGIN_THROTTLE_PER_ADDRESS = int(os.environ.get("LOGIN_THROTTLE_PER_ADDRESS", 50))
# Where the client's address is. Behind a reverse proxy every request comes from the
# proxy, so counting REMOTE_ADDR would lock everyone out at once: with HTTPS=1 (a TLS proxy
# in front) the default is the X-Forwarded-For the proxy appends to (its last entry).
LOGIN_THROTTLE_ADDRESS_HEADER = os.environ.get("LOGIN_THROTTLE_ADDRESS_HEADER") or (
    "HTTP_X_FORWARDED_FOR" if env_bool("HTTPS") and not DEBUG else "REMOTE_ADDR")
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# Uploads: datasets can be large; Django streams big files to disk past this size.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 2 * 1024**3))
# What one import may take once decompressed (every file together), and what a team's
# datasets may take on disk; 0 means no limit. Decompression runs in the worker, counted,
# and stops at the limit, so a small gzip that expands without end costs no more.
MAX_IMPORT_BYTES = int(os.environ.get("MAX_IMPORT_BYTES", 10 * 1024**3))
MAX_IMPORT_ROWS = int(os.environ.get("MAX_IMPORT_ROWS", 100_000_000))
TEAM_STORAGE_QUOTA_BYTES = int(os.environ.get("TEAM_STORAGE_QUOTA_BYTES", 20 * 1024**3))

# Email through Django 6.1's MAILERS; the console backend unless told otherwise.
_email_backend = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_email_options = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", 25)),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS"),
    }
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "HypothesisLab <noreply@localhost>")

# Redis, when named, is the Celery broker and the cache; without it tasks run in-process.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL and not TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The live session page: each change is announced to every web process over Redis pub/sub
# when there are several (production); empty means this process only (the embedded
# default, and the tests, which name a Redis URL where they test the real thing).
LIVE_BROADCAST_URL = os.environ.get("LIVE_BROADCAST_URL") or ("" if TESTING else REDIS_URL)
# A member with no open live stream for this long shows as away.
LIVE_PRESENCE_SECONDS = int(os.environ.get("LIVE_PRESENCE_SECONDS", 5))
# The live drawer's CPU priority (a nice value: lower goes first) where it may take it: a
# drawing serves every member of a session, a request one member.
LIVE_DRAWER_NICE = int(os.environ.get("LIVE_DRAWER_NICE", -5))
# A folder where each web process notes every live drawing it makes (when it started and
# ended, its CPU): `make loadtest` sets it to read how drawings are paced. Empty: none.
LIVE_TRACE_DIR = os.environ.get("LIVE_TRACE_DIR", "")

CELERY_BROKER_URL = REDIS_URL or "memory://"
# Tests run tasks synchronously; the ones that prove the worker path start a real worker
# process and switch this off for themselves.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or TESTING
CELERY_TASK_EAGER_PROPAGATES = TESTING
# In the embedded default, tasks run on a background thread of the web process so that a
# request never waits for an analysis; tests set this off to run them synchronously.
TASKS_IN_BACKGROUND_THREAD = env_bool("TASKS_IN_BACKGROUND_THREAD", not REDIS_URL and not TESTING)
TASKS_RUN_IMMEDIATELY = TESTING
# The embedded default's pool: this many background threads run tasks (one DuckDB job each).
TASKS_BACKGROUND_THREADS = int(os.environ.get("TASKS_BACKGROUND_THREADS", 2))
# Fair share: the most analysis jobs one team runs at once, with Celery as on the embedded
# pool. A team's further jobs wait (re-queued every few seconds) while the other workers
# stay free for other teams, so that one team's long queries never stall another's.
# 0 = no limit (a server for a single team with several workers may want that).
TEAM_MAX_RUNNING_JOBS = int(os.environ.get("TEAM_MAX_RUNNING_JOBS", 1))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", 600))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", 660))
# Redis redelivers a message that a worker took but never acknowledged (the worker died)
# after this many seconds. It must exceed the longest task, or a slow job gets delivered
# twice (harmless, the job row is claimed once, but wasteful); the fault tests shorten it.
CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 3600))

# DuckDB per job: the worker's share of the machine.
DUCKDB_MEMORY_LIMIT = os.environ.get("DUCKDB_MEMORY_LIMIT", "1GB")
DUCKDB_THREADS = int(os.environ.get("DUCKDB_THREADS", 2))
# The explorer's SQL console: each query runs in a process of its own, stopped after this
# many seconds or when DuckDB needs more memory than this.
CONSOLE_TIME_LIMIT = float(os.environ.get("CONSOLE_TIME_LIMIT", 10))
CONSOLE_MEMORY_LIMIT = os.environ.get("CONSOLE_MEMORY_LIMIT", "256MB")

# The SQL console, per query: its time limit in seconds (the child process running it is
# killed within a second of it), DuckDB's memory for it, and the JSON bytes of result rows
# kept and shown (a wider result is stored cut, with a note).
CONSOLE_TIME_LIMIT = float(os.environ.get("CONSOLE_TIME_LIMIT", 10))
CONSOLE_MEMORY_LIMIT = os.environ.get("CONSOLE_MEMORY_LIMIT", "256MB")
CONSOLE_MAX_RESULT_BYTES = int(os.environ.get("CONSOLE_MAX_RESULT_BYTES", 5_000_000))

# Content-Security-Policy (Django's own middleware): scripts, styles and everything else
# only from this site, no inline script or style, no framing, forms post only here.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions stay in the database (not cached_db): with Redis as the cache, a Redis outage
# would otherwise fail every request (tests/faults/test_redis_restart.py).
if not DEBUG and env_bool("HTTPS", False):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
