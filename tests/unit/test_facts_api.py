"""The flaky facts endpoint: seeded, reproducible failures that retries can always outlast."""

from __future__ import annotations

import threading

import pytest
import requests

from coursekit import config
from coursekit.lesson.lessons import lesson_module
from coursekit.services import facts_api
from coursekit.services.facts_api import FlakyFacts
from coursekit.services.lifecycle import free_port


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
    assert requests.get(f"{endpoint}/cat/fact", timeout=5).json()["fact"] in facts_api.FACTS["cat"]
    assert requests.get(f"{endpoint}/dog/fact", timeout=5).json()["fact"] in facts_api.FACTS["dog"]
    missing = requests.get(f"{endpoint}/bird/fact", timeout=5)
    assert missing.status_code == 404 and "/cat/fact" in missing.json()["error"]


# The lesson's task does the HTTP request itself: a 5xx or no answer at all must raise, so that Prefect
# retries it (run here without Prefect's engine, through the task's own function).
def test_the_lessons_task_returns_a_fact_and_raises_on_a_5xx_a_404_and_no_answer(endpoint):
    lesson = lesson_module("01_intro/cat_facts.py")
    assert lesson.fetch_cat_fact.fn(f"{endpoint}/cat/fact") in facts_api.FACTS["cat"]
    with pytest.raises(requests.HTTPError, match=r"404 Client Error: Not Found for url: .*/bird/fact"):
        lesson.fetch_cat_fact.fn(f"{endpoint}/bird/fact")
    flaky = facts_api.make_server("127.0.0.1", 0, FlakyFacts(failure_rate=0.5, seed=181))
    threading.Thread(target=flaky.serve_forever, daemon=True).start()
    try:
        with pytest.raises(requests.HTTPError, match=r"503 Server Error"):  # the seeded first answer is a 503
            lesson.fetch_cat_fact.fn(f"http://127.0.0.1:{flaky.server_address[1]}/cat/fact")
    finally:
        flaky.shutdown()
    with pytest.raises(requests.ConnectionError):
        lesson.fetch_cat_fact.fn(f"http://127.0.0.1:{free_port()}/cat/fact")


def test_the_lesson_reads_the_facts_api_address_from_the_course_environment():
    assert config.current().prefect_env()["COURSE_FACTS_URL"] == config.current().facts_url
