"""The flaky facts endpoint: seeded, reproducible failures that retries can always outlast."""

from __future__ import annotations

import threading

import pytest
import requests

from coursekit.services import facts_api
from coursekit.services.facts_api import FactUnavailable, FlakyFacts, get_fact


def outcomes(facts: FlakyFacts, kind: str, n: int) -> str:
    return "".join("F" if facts.answer(kind)[0] == 503 else "S" for _ in range(n))


def test_same_seed_fails_the_same_requests():
    assert outcomes(FlakyFacts(0.5, seed=7), "cat", 30) == outcomes(FlakyFacts(0.5, seed=7), "cat", 30)
    assert outcomes(FlakyFacts(0.5, seed=7), "cat", 30) != outcomes(FlakyFacts(0.5, seed=8), "cat", 30)


def test_default_seed_gives_the_lesson_its_retries_and_never_exhausts_them():
    facts = FlakyFacts()
    cat, dog = outcomes(facts, "cat", 12), outcomes(facts, "dog", 12)
    # make stage-1: cat_facts.py fails twice then succeeds; the cat subflow fails once; the dog subflow twice.
    assert cat.startswith("FFSFS") and dog.startswith("FFS")
    # Four attempts per task (3 retries): further runs by hand never hit four outages in a row.
    assert "FFFF" not in cat and "FFFF" not in dog


def test_failure_rate_zero_never_fails_and_rate_one_is_refused():
    assert outcomes(FlakyFacts(0.0), "dog", 50) == "S" * 50
    with pytest.raises(ValueError, match="failure rate"):
        FlakyFacts(1.0)


@pytest.fixture
def endpoint():
    server = facts_api.make_server("127.0.0.1", 0, FlakyFacts(failure_rate=0.0))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_endpoint_serves_facts_health_and_a_helpful_404(endpoint):
    assert requests.get(f"{endpoint}/health", timeout=5).json() == {"ok": True}
    assert get_fact(f"{endpoint}/cat/fact") in facts_api.FACTS["cat"]
    assert get_fact(f"{endpoint}/dog/fact") in facts_api.FACTS["dog"]
    missing = requests.get(f"{endpoint}/bird/fact", timeout=5)
    assert missing.status_code == 404 and "/cat/fact" in missing.json()["error"]


def test_get_fact_names_the_url_and_the_reason(endpoint):
    with pytest.raises(FactUnavailable, match=r"GET .*/bird/fact failed: 404 Not Found"):
        get_fact(f"{endpoint}/bird/fact")
    with pytest.raises(FactUnavailable, match=r"GET .*/health failed: the answer is not JSON with a \"fact\""):
        get_fact(f"{endpoint}/health")


def test_get_fact_says_when_nothing_answers():
    from coursekit.services.lifecycle import free_port

    url = f"http://127.0.0.1:{free_port()}/cat/fact"
    with pytest.raises(FactUnavailable, match=r"failed: no answer \(ConnectionError\)"):
        get_fact(url)


def test_fact_url_prefers_the_learners_override(monkeypatch):
    monkeypatch.setenv("CAT_FACTS_URL", "https://catfact.example/fact")
    assert facts_api.fact_url("cat") == "https://catfact.example/fact"
