"""The erasure's pure rules: what a request may be, how a subject is hashed, what counts as naming it."""

import hashlib
import json

import pytest

from lakehouse.core.erasure import (
    REDACTED,
    ErasedSubjects,
    ErasureRequestError,
    Subject,
    identifier_pattern,
    parse_request,
    payload_subject,
    searchable,
    spellings,
    subject_hash,
)
from lakehouse.core.params import validated
from lakehouse.etl.erasure import Found, predicate, subjects_sql, text_predicate, totals_delta
from lakehouse.quality.erasure import retention_check


def test_a_request_is_validated_whole_before_anything_runs():
    request = parse_request([" youtube:yo_2 ", "tiktok:ti_1"], "GDPR-7", " Art. 17 ")
    assert request.subjects == (Subject("tiktok", "ti_1"), Subject("youtube", "yo_2"))  # sorted, trimmed
    assert (request.request_id, request.reason, str(request.subjects[0])) == ("GDPR-7", "Art. 17", "tiktok:ti_1")
    bad = {
        "no subjects": ([], "R", "r"), "given twice: tiktok:a": (["tiktok:a", "tiktok:a"], "R", "r"),
        "unknown platform 'vimeo'": (["vimeo:a"], "R", "r"), "malformed subject 'tiktok:'": (["tiktok:"], "R", "r"),
        "malformed subject \"tiktok:a'b\"": (["tiktok:a'b"], "R", "r"), "request id": (["tiktok:a"], "a b", "r"),
        "reason": (["tiktok:a"], "R", " "), "at most 1000": ([f"tiktok:k{i}" for i in range(1001)], "R", "r"),
    }
    for message, args in bad.items():
        with pytest.raises(ErasureRequestError, match=message):
            parse_request(*args)


def test_the_dag_params_accept_what_the_request_accepts():
    ok = {"subjects": ["tiktok:ti_1"], "request_id": "R-1", "reason": "GDPR Art. 17"}
    assert validated("erase_subjects", ok) == ok
    for broken in ({**ok, "subjects": []}, {**ok, "subjects": ["tiktok:a", "tiktok:a"]},
                   {**ok, "subjects": ["tiktok:a b"]}, {**ok, "request_id": "x y"}, {**ok, "reason": ""}):
        with pytest.raises(Exception, match="erase_subjects"):
            validated("erase_subjects", broken)


def test_the_ledger_hash_is_salted_and_spark_can_compute_it():
    assert subject_hash("s", "tiktok", "ti_1") == hashlib.sha256(b"s:tiktok:ti_1").hexdigest()
    assert subject_hash("s", "tiktok", "ti_1") != subject_hash("t", "tiktok", "ti_1")


def test_ingestion_recognises_an_erased_subject_as_silver_would_normalize_it():
    erased = ErasedSubjects("salt", frozenset({subject_hash("salt", "tiktok", "ti_1")}))
    assert erased.holds(json.dumps({"platform": " TikTok ", "kol_id": " ti_1 "}).encode())
    assert not erased.holds(json.dumps({"platform": "youtube", "kol_id": "ti_1"}).encode())
    for raw in (None, b"", b"not json", b"[1]", b'{"platform": "tiktok"}', b'{"platform": 1, "kol_id": "ti_1"}'):
        assert not erased.holds(raw) and payload_subject(raw) is None
    assert not ErasedSubjects("", frozenset())  # an empty ledger: ingestion parses nothing
    assert not ErasedSubjects("", frozenset()).holds(json.dumps({"platform": "tiktok", "kol_id": "ti_1"}).encode())


def test_an_identifier_is_found_as_a_whole_token_in_every_spelling():
    pattern = identifier_pattern(["ti_0000001", "José Núñez"])
    text = ('{"a": "ti_0000001", "b": "ti_00000012", "c": "xti_0000001", "d": "ti_0000001_v000", '
            '"e": "Jos\\u00e9 N\\u00fa\\u00f1ez", "f": "<td>José Núñez</td>"}').encode()
    assert [m.decode() for m in pattern.findall(text)] == ["ti_0000001", "Jos\\u00e9 N\\u00fa\\u00f1ez",
                                                           "José Núñez"]
    assert json.loads(pattern.sub(REDACTED.encode(), text))["a"] == REDACTED  # redaction keeps JSON valid
    assert spellings("a&b") == (b"a&amp;b", b"a&b")
    assert searchable(["  ab ", "abcd", None, "", "abcd "]) == ("abcd",)
    assert identifier_pattern([]) is None


def test_sql_selects_the_subjects_by_key_or_by_raw_payload():
    subjects = [Subject("tiktok", "ti_1"), Subject("youtube", "yo_2")]
    assert subjects_sql(subjects) == "(('tiktok', 'ti_1'), ('youtube', 'yo_2'))"
    assert predicate("silver.kol_videos", subjects).startswith("(platform, kol_id) IN ")
    assert "get_json_object(CAST(payload AS STRING), '$.kol_id')" in predicate("bronze.kol_videos_raw", subjects)
    assert "get_json_object" in predicate("silver.quarantine", subjects)
    named = text_predicate("audit.check_results", ["it's"])
    assert named.count(" rlike ") == 3 and "it\\'s" in named  # each text column; the quote escaped for SQL
    assert text_predicate("audit.check_results", []) == "false"


def test_the_totals_move_the_subjects_bronze_records_from_duplicates_to_erased():
    found = Found(rows={"bronze.kol_profiles_raw": 5, "silver.kol_profiles": 2, "bronze.kol_videos_raw": 0},
                  quarantined_by_source={"bronze.kol_profiles_raw": 1}, identifiers=())
    # 5 records: 2 in Silver, 1 quarantined, so 2 had been counted as duplicates
    assert totals_delta(found) == {"silver.kol_profiles": {"erased": 5, "duplicates": -2}}


def test_kafka_retention_says_when_the_broker_drops_the_records():
    week = retention_check("kol-profiles-raw", {"retention.ms": "604800000", "cleanup.policy": "delete"})
    assert (week.status.value, week.observed, week.check_id) == ("PASS", 604800000, "erasure.kafka.kol-profiles-raw")
    assert "within 168.0 h" in week.details
    forever = retention_check("kol-profiles-raw", {"retention.ms": "-1", "cleanup.policy": "compact"})
    assert forever.status.value == "WARN" and "tombstones" in forever.details
    assert retention_check("t", {}).status.value == "SKIP"
    assert "KafkaException" in retention_check("t", {"error": "KafkaException"}).details


def test_parquet_values_are_searched_in_every_spelling_as_whole_tokens(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakehouse.quality.erasure import parquet_matches

    path = tmp_path / "data.parquet"
    payloads = [json.dumps({"kol_id": "ti_1", "username": "José"}).encode(),  # escaped: "Jos\\u00e9"
                json.dumps({"kol_id": "ti_12", "username": "Josée"}).encode()]  # other tokens: no match
    pq.write_table(pa.table({"payload": pa.array(payloads, pa.binary()), "name": ["José", "ti_1_v000"]}), path)
    assert parquet_matches(path, ["José"]) == 2  # the escaped payload and the raw string column
    assert parquet_matches(path, ["ti_1"]) == 1
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b'not parquet: "ti_1" ti_12')
    assert parquet_matches(broken, ["ti_1"]) == 1  # searched by its bytes instead
