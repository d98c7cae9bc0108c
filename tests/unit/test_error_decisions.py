"""Errors are decided by types and codes, never by message text, and nothing swallows what would switch a
guard off: the broker-reset guard's topic id, a topic that could not be created, a missing upstream table."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from confluent_kafka import KafkaError, KafkaException

from lakehouse import kafka
from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status, failed_ids
from lakehouse.core.errors import MissingUpstreamError, is_data_breach
from lakehouse.ingest import consumer


class _Admin:
    """Answers describe_topics/create_topics with futures that fail with one Kafka error code."""

    def __init__(self, code: int):
        self.code = code

    def _failed(self) -> Future:
        future: Future = Future()
        future.set_exception(KafkaException(KafkaError(self.code)))
        return future

    def describe_topics(self, collection, request_timeout):
        return {topic: self._failed() for topic in collection.topic_names}

    def list_topics(self, timeout):
        return type("Metadata", (), {"topics": {}})()

    def create_topics(self, new_topics, request_timeout):
        return {t.topic: self._failed() for t in new_topics}


def test_an_authorization_error_is_not_taken_for_an_old_broker(monkeypatch):
    monkeypatch.setattr(kafka, "admin", lambda settings, **_: _Admin(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        consumer._topic_id("kol-profiles-raw", Settings(), None, 1.0)
    monkeypatch.setattr(kafka, "admin", lambda settings, **_: _Admin(KafkaError.UNSUPPORTED_VERSION))
    assert consumer._topic_id("kol-profiles-raw", Settings(), None, 1.0) == ""  # only the cluster id guards


def test_a_topic_that_exists_already_is_fine_and_any_other_error_is_not(monkeypatch):
    monkeypatch.setattr(kafka, "admin", lambda settings, **_: _Admin(KafkaError.TOPIC_ALREADY_EXISTS))
    assert kafka.ensure_topics(Settings(), ["kol-profiles-raw"]) == ["kol-profiles-raw"]
    monkeypatch.setattr(kafka, "admin", lambda settings, **_: _Admin(KafkaError.POLICY_VIOLATION))
    with pytest.raises(RuntimeError, match="cannot create topic kol-profiles-raw"):
        kafka.ensure_topics(Settings(), ["kol-profiles-raw"])


def test_a_missing_upstream_table_is_not_retried():
    assert is_data_breach(MissingUpstreamError("silver.kol_profiles has no snapshot"))


def test_failed_ids_compares_statuses_as_members():
    results = [CheckResult("a", "x", "t", Status.FAIL), CheckResult("b", "x", "t", Status.WARN),
               CheckResult("c", "x", "t", Status("FAIL"))]
    assert failed_ids(results) == ["a", "c"]
