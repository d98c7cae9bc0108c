import json
import statistics

import pytest

from lakehouse.core.names import TOPICS
from lakehouse.datagen import FAULT_KINDS, DatasetSpec, generate


def _values(ds, entity):
    return [r.value for r in ds.records[entity]]


def test_same_seed_same_bytes_other_seed_differs():
    a = generate(DatasetSpec(profiles=300, bad_fraction=0.05, seed=7))
    b = generate(DatasetSpec(profiles=300, bad_fraction=0.05, seed=7))
    c = generate(DatasetSpec(profiles=300, bad_fraction=0.05, seed=8))
    assert _values(a, "profiles") == _values(b, "profiles")
    assert a.labels == b.labels
    assert _values(a, "profiles") != _values(c, "profiles")


def test_both_platforms_and_all_topics():
    ds = generate(DatasetSpec(profiles=500))
    assert set(ds.counts()) == set(TOPICS.values())
    assert {json.loads(v)["platform"] for v in _values(ds, "profiles")} == {"tiktok", "youtube"}
    assert all(n > 0 for n in ds.counts().values())


@pytest.mark.parametrize("bot_fraction", [0.1, 0.4])
def test_label_fraction_as_asked(bot_fraction):
    ds = generate(DatasetSpec(profiles=4000, bot_fraction=bot_fraction))
    bots = sum(1 for lab in ds.labels if lab["label"] == "bot") / len(ds.labels)
    assert abs(bots - bot_fraction) < 0.03
    assert len({(lab["platform"], lab["kol_id"]) for lab in ds.labels}) == 4000


@pytest.mark.parametrize("bad_fraction", [0.0, 0.02, 0.1])
def test_bad_record_fraction_as_asked(bad_fraction):
    ds = generate(DatasetSpec(profiles=2000, bad_fraction=bad_fraction))
    faults = ds.faults("profiles")
    assert sum(faults.values()) == round(2000 * bad_fraction)
    if bad_fraction:
        assert set(faults) == set(FAULT_KINDS)  # every kind is represented


def test_each_fault_is_what_it_says():
    ds = generate(DatasetSpec(profiles=1000, bad_fraction=0.1))
    seen_keys = set()
    for record in ds.records["profiles"]:
        if record.fault == "malformed_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(record.value)
            continue
        doc = json.loads(record.value)
        if record.fault == "null_username":
            assert doc["username"] is None
        elif record.fault == "negative_count":
            assert doc["followers_count"] < 0
        elif record.fault == "unknown_platform":
            assert doc["platform"] not in ("tiktok", "youtube")
        elif record.fault == "duplicate":
            assert record.key in seen_keys  # the second copy of a key already sent
        else:
            assert doc["username"] and doc["followers_count"] >= 0
        seen_keys.add(record.key)


def test_followers_are_skewed_and_bots_look_different():
    ds = generate(DatasetSpec(profiles=5000))
    docs = [json.loads(v) for v in _values(ds, "profiles")]
    followers = [d["followers_count"] for d in docs]
    assert statistics.mean(followers) > 3 * statistics.median(followers)  # heavy right tail
    label = {lab["kol_id"]: lab["label"] for lab in ds.labels}
    ratio = {k: statistics.median(d["following_count"] / max(d["followers_count"], 1)
                                  for d in docs if label[d["kol_id"]] == k) for k in ("bot", "authentic")}
    assert ratio["bot"] > 5 * ratio["authentic"]


def test_a_big_dataset_comes_in_chunks_with_unique_ids_and_one_manifest():
    """produce_synthetic holds one chunk at a time (1,000,000 profiles at once would not fit in memory)."""
    from lakehouse.datagen import generate_chunks, merged_manifest

    spec = DatasetSpec(profiles=250, bad_fraction=0.1, seed=3)
    whole_small = generate(spec)
    assert [c.counts() for c in generate_chunks(spec, chunk_profiles=250)] == [whole_small.counts()]
    chunks = list(generate_chunks(spec, chunk_profiles=100))
    assert [len(c.labels) for c in chunks] == [100, 100, 50]
    assert chunks[0].records["profiles"][0].value == generate(
        DatasetSpec(profiles=100, bad_fraction=0.1, seed=3)).records["profiles"][0].value  # chunk 0: the seed
    ids = [lab["kol_id"] for c in chunks for lab in c.labels]
    assert len(ids) == len(set(ids)) == 250 and max(int(i.split("_")[1]) for i in ids) == 249
    manifest = merged_manifest([c.manifest() for c in chunks])
    assert manifest["records"] == {t: sum(c.counts()[t] for c in chunks) for t in chunks[0].counts()}
    assert manifest["bots"] == sum(lab["label"] == "bot" for c in chunks for lab in c.labels)
    assert sum(manifest["faults"]["profiles"].values()) == sum(sum(c.faults("profiles").values()) for c in chunks)
