"""The service manager against real tansu and redis-server processes."""

import json
import socket
import subprocess

import pytest
import redis

from lakehouse.core.names import TOPICS
from lakehouse.kafka import admin
from lakehouse.services.manager import ServiceError, ServiceManager, port_open, process_start_time

pytestmark = pytest.mark.integration


def test_up_status_down(settings):
    manager = ServiceManager(settings)
    try:
        manager.up(log=lambda *_: None)
        statuses = {s.name: s for s in manager.status()}
        assert all(s.running and s.owned for s in statuses.values()), statuses
        assert set(TOPICS.values()) <= set(admin(settings).list_topics(timeout=10).topics)
        assert redis.Redis.from_url(settings.redis_url).ping()
        first_pids = {s.name: s.pid for s in statuses.values()}
        manager.up(log=lambda *_: None)  # idempotent: nothing restarted
        assert {s.name: s.pid for s in manager.status()} == first_pids
    finally:
        manager.down(log=lambda *_: None)
    assert not any(s.running for s in manager.status())
    assert not port_open(settings.kafka_host, settings.kafka_port)
    assert not port_open(settings.redis_host, settings.redis_port)


def test_never_stops_a_process_it_did_not_start(settings):
    foreign = subprocess.Popen(["sleep", "60"])
    try:
        manager = ServiceManager(settings)
        with pytest.raises(ServiceError, match="not started by this project"):
            manager.stop_pid(foreign.pid)
        # A pid file naming the foreign pid (e.g. a reused pid) with another start time.
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        (settings.run_dir / "broker.json").write_text(json.dumps(
            {"pid": foreign.pid, "start_time": process_start_time(foreign.pid) + 1, "argv": [], "port": 1}))
        logs = []
        manager.down(log=logs.append)
        assert foreign.poll() is None, "foreign process was killed"
        assert any("signalled nothing" in line for line in logs)
        assert not (settings.run_dir / "broker.json").exists()
    finally:
        foreign.kill()
        foreign.wait()


def test_port_taken_by_someone_else_is_a_clear_error(settings):
    squatter = socket.socket()
    squatter.bind((settings.redis_host, settings.redis_port))
    squatter.listen()
    manager = ServiceManager(settings)
    try:
        with pytest.raises(ServiceError, match=f"redis: port .*{settings.redis_port}.* did not start"):
            manager.up(log=lambda *_: None)
        redis_status = next(s for s in manager.status() if s.name == "redis")
        assert not redis_status.running and "did not start" in redis_status.detail  # nothing of ours left there
    finally:
        manager.down(log=lambda *_: None)
        squatter.close()


def test_services_started_to_die_with_their_parent_end_when_it_is_killed(settings):
    """What a test process (or a mutant ``make mutation`` times out) starts never outlives it."""
    import signal
    import sys

    import psutil

    starter = subprocess.Popen(
        [sys.executable, "-c", "import sys; from lakehouse.config import get_settings; "
         "from lakehouse.services.manager import ServiceManager; "
         "ServiceManager(get_settings(), die_with_parent=True).up(log=lambda *_: None, only=('redis',)); "
         "print('up', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert starter.stdout.readline().strip() == "up"
    redis_pid = ServiceManager(settings).pid_of("redis")
    assert redis_pid is not None and port_open(settings.redis_host, settings.redis_port)
    starter.send_signal(signal.SIGKILL)
    starter.wait(timeout=30)
    psutil.Process(redis_pid).wait(timeout=30)  # raises TimeoutExpired if it outlived its parent
    assert not port_open(settings.redis_host, settings.redis_port)
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(redis_pid).status()
