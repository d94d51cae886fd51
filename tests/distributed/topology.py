"""The distributed topology on one machine, from real processes.

Kafka (KRaft, one node), the Dapr scheduler, one daprd per app id loading the project's own
``dapr/`` component, resiliency and configuration files, the web (daphne) and the worker
(``manage.py worker``), against the PostgreSQL and Redis of the machine. Used by the
real-runtime test tier (``tests/distributed``), by the Dapr-mode benchmarks and by
``make run-dapr`` (``python -m tests.distributed.topology``).

The runtime comes from ``dapr/install-runtime.sh`` (pinned in ``dapr/runtime.env``) under
the git-ignored ``.runtime/``. Processes are stopped and started for real, so tests make
outages by stopping a process, not by asking a fake to pretend.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DAPR_DIR = ROOT / "dapr"
RUNTIME_DIR = Path(os.environ.get("RUNTIME_DIR", ROOT / ".runtime"))
BIN = Path(sys.executable).parent
WEB_APP_ID = "todo-web"
WORKER_APP_ID = "todo-worker"
#: Where dapr/config.yaml sends spans (Zipkin's default port on this machine).
ZIPKIN_PORT = 9411
TOPICS = ("task-events", "task-updates", "reminders")
PARTITIONS = int(os.environ.get("KAFKA_PARTITIONS", "12"))
#: The secrets file daprd reads through the `localsecretstore` component
#: (dapr/components/secretstore.yaml names it relative to daprd's working directory).
SECRETS_FILE = "secrets.json"


def runtime_versions() -> dict[str, str]:
    """DAPR_VERSION, KAFKA_VERSION, ... from dapr/runtime.env (the one place they are pinned)."""
    versions = {}
    for line in (DAPR_DIR / "runtime.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            versions[name.strip()] = value.strip()
    return versions


@dataclass(frozen=True)
class RuntimePaths:
    daprd: Path
    scheduler: Path
    kafka_lib: Path
    dapr_version: str
    kafka_version: str

    def missing(self) -> str | None:
        """Why the runtime cannot run here, or None when it can."""
        for path in (self.daprd, self.scheduler):
            if not os.access(path, os.X_OK):
                return f"{path} is not built: run `make dapr-runtime`"
        if not (self.kafka_lib.parent / ".complete").exists():
            return f"Kafka is not collected in {self.kafka_lib.parent}: run `make dapr-runtime`"
        if shutil.which("java") is None:
            return "java is not on PATH (Kafka needs Java 17+)"
        return None


def runtime_paths() -> RuntimePaths:
    versions = runtime_versions()
    dapr_bin = RUNTIME_DIR / f"dapr-{versions['DAPR_VERSION']}" / "bin"
    return RuntimePaths(
        daprd=dapr_bin / "daprd",
        scheduler=dapr_bin / "scheduler",
        kafka_lib=RUNTIME_DIR / f"kafka-{versions['KAFKA_VERSION']}" / "lib",
        dapr_version=versions["DAPR_VERSION"],
        kafka_version=versions["KAFKA_VERSION"],
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate: Any, *, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_status(url: str, *, timeout: float = 1.0, headers: Mapping[str, str] | None = None) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the process that started it dies (Linux), so
    a killed test run or benchmark leaves no Kafka or daprd holding ports behind."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Process:
    """One child process with its output in a log file; stop and start it again at will."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_dir: Path,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Process:
        if self.running:
            return self
        self._log = self.log_path.open("ab")
        self._log.write(f"\n--- start {time.strftime('%H:%M:%S')} {self.argv}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in `make run-dapr` reaches us, not each child
            preexec_fn=_die_with_parent,
        )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def signal(self, signum: int) -> None:
        if self.running:
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def stop(self, *, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.popen is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to finish anything."""
        if self.popen is None:
            return
        self.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def check_alive(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.popen.returncode}; its log:\n{self.tail()}"
            )

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class Ports:
    kafka: int = field(default_factory=free_port)
    kafka_controller: int = field(default_factory=free_port)
    scheduler: int = field(default_factory=free_port)
    scheduler_healthz: int = field(default_factory=free_port)
    scheduler_metrics: int = field(default_factory=free_port)
    scheduler_etcd_client: int = field(default_factory=free_port)
    scheduler_etcd_peer: int = field(default_factory=free_port)
    web: int = field(default_factory=free_port)
    worker_app: int = field(default_factory=free_port)
    sidecars: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def remembered(cls, path: Path) -> Ports:
        """The ports of the last run in ``path`` (new ones the first time): the scheduler's
        embedded etcd keeps its peer address in its data, so a restart must reuse it, and
        its jobs (future reminders) survive only if the same etcd comes back."""
        if path.exists():
            return cls(**json.loads(path.read_text()))
        ports = cls()
        for app_id in (WEB_APP_ID, WORKER_APP_ID):
            ports.sidecar(app_id)
        path.write_text(json.dumps(dataclasses.asdict(ports)))
        return ports

    def sidecar(self, app_id: str) -> dict[str, int]:
        if app_id not in self.sidecars:
            self.sidecars[app_id] = {
                name: free_port() for name in ("http", "grpc", "internal_grpc", "metrics")
            }
        return self.sidecars[app_id]


def _database_with_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class Topology:
    """Every process of the distributed mode. ``start()`` brings all up; each can be
    stopped, killed and started again on the same ports."""

    def __init__(
        self,
        *,
        workdir: Path,
        database_url: str,
        redis_url: str = "redis://127.0.0.1:6379/0",
        host: str = "127.0.0.1",
        web_port: int | None = None,
        app_env: Mapping[str, str] | None = None,
        paths: RuntimePaths | None = None,
        ports: Ports | None = None,
    ) -> None:
        self.paths = paths or runtime_paths()
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.redis_url = redis_url
        self.host = host
        self.ports = ports or Ports()
        if web_port:
            self.ports.web = web_port
        #: The Dapr API token (app -> sidecar) and app token (sidecar -> app's job route).
        self.dapr_api_token = secrets.token_urlsafe(24)
        self.app_api_token = secrets.token_urlsafe(24)
        self.app_env = dict(app_env or {})
        self.kafka = self._kafka_process()
        self.scheduler = self._scheduler_process()
        self.web_sidecar = self._daprd_process(WEB_APP_ID, app_port=None)
        self.worker_sidecar = self._daprd_process(WORKER_APP_ID, app_port=self.ports.worker_app)
        self.web = self._web_process()
        self.worker = self._worker_process()
        self._write_secrets()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def web_url(self) -> str:
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host
        return f"http://{host}:{self.ports.web}"

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.worker_app}"

    def sidecar_url(self, app_id: str) -> str:
        return f"http://127.0.0.1:{self.ports.sidecar(app_id)['http']}"

    def metrics_url(self, app_id: str) -> str:
        return f"http://127.0.0.1:{self.ports.sidecar(app_id)['metrics']}/metrics"

    # -- the processes ------------------------------------------------------------------------

    def _kafka_process(self) -> Process:
        kafka_dir = self.workdir / "kafka"
        (kafka_dir / "data").mkdir(parents=True, exist_ok=True)
        properties = kafka_dir / "server.properties"
        properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{self.ports.kafka_controller}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.ports.kafka},"
                    f"CONTROLLER://127.0.0.1:{self.ports.kafka_controller}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.ports.kafka}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={kafka_dir / 'data'}",
                    f"num.partitions={PARTITIONS}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                    "",
                ]
            )
        )
        classpath = f"{self.paths.kafka_lib}/*"
        java = shutil.which("java") or "java"
        env = dict(os.environ)
        if not (kafka_dir / "data" / "meta.properties").exists():
            cluster_id = subprocess.run(
                [java, "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            ).stdout.strip()
            subprocess.run(
                [
                    java,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    cluster_id,
                    "-c",
                    str(properties),
                ],
                check=True,
                capture_output=True,
                env=env,
            )
        return Process(
            "kafka",
            [
                java,
                "-Xms256m",
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(properties),
            ],
            env=env,
            cwd=kafka_dir,
            log_dir=self.logs,
        )

    def _scheduler_process(self) -> Process:
        data = self.workdir / "scheduler"
        data.mkdir(parents=True, exist_ok=True)
        p = self.ports
        return Process(
            "scheduler",
            [
                str(self.paths.scheduler),
                "--listen-address=127.0.0.1",
                f"--port={p.scheduler}",
                f"--healthz-port={p.scheduler_healthz}",
                f"--metrics-port={p.scheduler_metrics}",
                f"--etcd-data-dir={data / 'etcd'}",
                f"--etcd-client-port={p.scheduler_etcd_client}",
                f"--etcd-initial-cluster=dapr-scheduler-server-0=http://127.0.0.1:{p.scheduler_etcd_peer}",
                "--id=dapr-scheduler-server-0",
                "--log-level=warn",
            ],
            env=dict(os.environ),
            cwd=data,
            log_dir=self.logs,
        )

    def _daprd_process(self, app_id: str, *, app_port: int | None) -> Process:
        ports = self.ports.sidecar(app_id)
        cwd = self.workdir / app_id
        cwd.mkdir(parents=True, exist_ok=True)
        argv = [
            str(self.paths.daprd),
            f"--app-id={app_id}",
            f"--dapr-http-port={ports['http']}",
            f"--dapr-grpc-port={ports['grpc']}",
            f"--dapr-internal-grpc-port={ports['internal_grpc']}",
            f"--metrics-port={ports['metrics']}",
            f"--resources-path={DAPR_DIR / 'components'}",
            f"--config={DAPR_DIR / 'config.yaml'}",
            f"--scheduler-host-address=127.0.0.1:{self.ports.scheduler}",
            "--placement-host-address=",
            "--dapr-listen-addresses=127.0.0.1",
            "--log-as-json",
            "--log-level=info",
        ]
        if app_port is not None:
            argv += [f"--app-port={app_port}", "--app-protocol=http"]
        env = dict(os.environ)
        env["DAPR_API_TOKEN"] = self.dapr_api_token
        if app_port is not None:
            env["APP_API_TOKEN"] = self.app_api_token
        return Process(f"daprd-{app_id}", argv, env=env, cwd=cwd, log_dir=self.logs)

    def _write_secrets(self) -> None:
        """The secrets both sidecars serve through the `localsecretstore` component: the
        Kafka brokers and Redis address the components read, and the database URL the apps
        read through the Dapr secrets API at start (DATABASE_URL_SECRET)."""
        redis = urlsplit(self.redis_url)
        values = {
            "kafka-brokers": self.kafka_bootstrap,
            "redis-host": f"{redis.hostname or '127.0.0.1'}:{redis.port or 6379}",
            "redis-password": redis.password or "",
            "database-url": self.database_url,
        }
        for app_id in (WEB_APP_ID, WORKER_APP_ID):
            path = self.workdir / app_id / SECRETS_FILE
            path.write_text(json.dumps(values, indent=2))
            path.chmod(0o600)

    def app_environment(self, app_id: str) -> dict[str, str]:
        ports = self.ports.sidecar(app_id)
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)  # read through the Dapr secrets API instead
        env.update(
            DJANGO_SETTINGS_MODULE="todo_project.settings",
            EVENT_BACKEND="dapr",
            RUN_EMBEDDED_WORKER="false",
            DATABASE_URL_SECRET="database-url",
            DAPR_SECRET_STORE="localsecretstore",
            REDIS_URL=self.redis_url,
            DAPR_RUNTIME_HOST="127.0.0.1",
            DAPR_HTTP_PORT=str(ports["http"]),
            DAPR_GRPC_PORT=str(ports["grpc"]),
            DAPR_API_TOKEN=self.dapr_api_token,
            DAPR_HEALTH_TIMEOUT="60",
            PYTHONUNBUFFERED="1",
            LOG_FORMAT="json",
        )
        for name in ("DAPR_GRPC_ENDPOINT", "DAPR_HTTP_ENDPOINT"):
            env.pop(name, None)
        if app_id == WORKER_APP_ID:
            env.update(
                WORKER_HOST="127.0.0.1",
                WORKER_PORT=str(self.ports.worker_app),
                APP_API_TOKEN=self.app_api_token,
            )
        env.update(self.app_env)
        return env

    def _web_process(self) -> Process:
        return Process(
            "web",
            [
                str(BIN / "daphne"),
                "-b",
                self.host,
                "-p",
                str(self.ports.web),
                "todo_project.asgi:application",
            ],
            env=self.app_environment(WEB_APP_ID),
            cwd=ROOT,
            log_dir=self.logs,
        )

    def _worker_process(self) -> Process:
        return Process(
            "worker",
            [sys.executable, "manage.py", "worker"],
            env=self.app_environment(WORKER_APP_ID),
            cwd=ROOT,
            log_dir=self.logs,
        )

    # -- bringing it up -----------------------------------------------------------------------

    def start_kafka(self) -> None:
        self.kafka.start()
        wait_until(
            lambda: self._alive(self.kafka) and port_open(self.ports.kafka),
            timeout=90,
            what="Kafka's listener",
        )
        self.create_topics()

    def create_topics(self) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.kafka_bootstrap})
        names = [*TOPICS, *(f"{topic}-dlq" for topic in TOPICS)]
        existing = set(admin.list_topics(timeout=30).topics)
        wanted = [NewTopic(n, PARTITIONS, 1) for n in names if n not in existing]
        for future in admin.create_topics(wanted).values() if wanted else []:
            with contextlib.suppress(Exception):  # TOPIC_ALREADY_EXISTS from a race
                future.result(timeout=30)

    def start_scheduler(self) -> None:
        self.scheduler.start()
        wait_until(
            lambda: (
                self._alive(self.scheduler)
                and http_status(f"http://127.0.0.1:{self.ports.scheduler_healthz}/healthz") == 200
            ),
            timeout=60,
            what="the Dapr scheduler",
        )

    def start_sidecar(self, app_id: str) -> None:
        process = self.web_sidecar if app_id == WEB_APP_ID else self.worker_sidecar
        process.start()
        wait_until(
            lambda: (
                self._alive(process)
                and http_status(f"{self.sidecar_url(app_id)}/v1.0/healthz/outbound") == 204
            ),
            timeout=60,
            what=f"daprd {app_id}",
        )

    def start_web(self) -> None:
        self.web.start()
        wait_until(
            lambda: self._alive(self.web) and http_status(f"{self.web_url}/healthz") == 200,
            timeout=90,
            what="the web app",
        )

    def start_worker(self, *, wait_subscribed: bool = True) -> None:
        self.worker.start()
        wait_until(
            lambda: self._alive(self.worker) and http_status(f"{self.worker_url}/healthz") == 200,
            timeout=90,
            what="the worker's app channel",
        )
        if wait_subscribed:
            # The worker logs once its streaming subscriptions are open (one per topic).
            wait_until(
                lambda: self._alive(self.worker) and "subscriptions open" in self.worker.log_text(),
                timeout=60,
                what="the worker's subscriptions",
            )

    def migrate(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A management command on the topology's database, without sidecar or events."""
        env = self.app_environment(WEB_APP_ID)
        env["DATABASE_URL"] = self.database_url
        env.pop("DATABASE_URL_SECRET", None)
        env["EVENT_BACKEND"] = "local"
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )

    def start(self) -> Topology:
        self.start_kafka()
        self.start_scheduler()
        self.migrate()
        self.start_sidecar(WEB_APP_ID)
        self.start_sidecar(WORKER_APP_ID)
        self.start_worker()
        self.start_web()
        return self

    def stop(self) -> None:
        for process in (
            self.web,
            self.worker,
            self.web_sidecar,
            self.worker_sidecar,
            self.scheduler,
            self.kafka,
        ):
            process.stop(timeout=15)

    @staticmethod
    def _alive(process: Process) -> bool:
        process.check_alive()
        return True

    def processes(self) -> list[Process]:
        return [
            self.kafka,
            self.scheduler,
            self.web_sidecar,
            self.worker_sidecar,
            self.worker,
            self.web,
        ]


# -- databases ----------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one topology, dropped afterwards."""
    import psycopg

    admin_url = _database_with_name(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _database_with_name(server_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- make run-dapr -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the distributed topology on this machine (make run-dapr)."
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DAPR_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/todo"),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)
    paths = runtime_paths()
    if reason := paths.missing():
        print(reason, file=sys.stderr)
        return 1
    workdir = ROOT / "data" / "dapr"
    workdir.mkdir(parents=True, exist_ok=True)
    topology = Topology(
        workdir=workdir,
        database_url=args.database_url,
        redis_url=args.redis_url,
        host=args.host,
        web_port=args.port,
        ports=Ports.remembered(workdir / "ports.json"),
        app_env={"ALLOWED_HOSTS": "*" if args.host in {"0.0.0.0", "::"} else "127.0.0.1,localhost"},
    )
    stopping = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print(
            f"starting Kafka {paths.kafka_version}, Dapr {paths.dapr_version} scheduler and "
            f"sidecars, web and worker (logs in {topology.logs})",
            flush=True,
        )
        topology.start()
        demo = topology.manage("ensure_demo_user", "--host", topology.host)
        print((demo.stdout + demo.stderr).strip(), flush=True)
        print(
            "\n".join(
                [
                    f"Serving on {topology.web_url}/  (API docs: /api/docs, admin: /admin/)",
                    f"  Kafka            {topology.kafka_bootstrap}",
                    f"  daprd todo-web    {topology.sidecar_url(WEB_APP_ID)}  "
                    f"metrics {topology.metrics_url(WEB_APP_ID)}",
                    f"  daprd todo-worker {topology.sidecar_url(WORKER_APP_ID)}  "
                    f"metrics {topology.metrics_url(WORKER_APP_ID)}",
                    f"  worker app channel {topology.worker_url} (job triggers, /readyz)",
                    "Ctrl-C stops everything.",
                ]
            ),
            flush=True,
        )
        while not stopping:
            for process in topology.processes():
                process.check_alive()
            time.sleep(0.5)
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        print("stopping...", flush=True)
        topology.stop()
    return 0


def tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


if __name__ == "__main__":
    raise SystemExit(main())
