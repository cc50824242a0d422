"""Memory over LangGraph's InMemoryStore, and the advice it gives, as rules."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

import memory.store_memory
from lifecycle.errors import BadInputError, ConfigurationError
from lifecycle.ports import Memory
from memory import Advice, StoreMemory, advise, distill, slower_canary
from memory.stores import agent_sqlite_path, parse_database_url

MODEL = "fraud_detector"


class StepClock:
    """A clock that moves one second on every reading (``step`` zero: a frozen clock)."""

    def __init__(self, step: float = 1.0) -> None:
        self.moment = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
        self.step = timedelta(seconds=step)

    def now(self) -> datetime:
        self.moment += self.step
        return self.moment


@pytest.fixture
def memory_() -> StoreMemory:
    return StoreMemory(InMemoryStore(), clock=StepClock())


def canary_to_production(outcome: str = "succeeded", **fields: Any) -> dict[str, Any]:
    """A canary deployment of v2 in production, as the agent records it."""
    return {
        "version": "2",
        "stage": "production",
        "strategy": "canary",
        "outcome": outcome,
        "canary_steps": [5, 10, 25, 50, 100],
        "deployment_id": "dep-2",
        **fields,
    }


# -- episodes -------------------------------------------------------------------------------


def test_store_memory_implements_the_memory_port(memory_: StoreMemory) -> None:
    assert isinstance(memory_, Memory)


def test_a_recorded_episode_gets_an_id_kind_model_path_and_utc_time(memory_: StoreMemory) -> None:
    episode_id = memory_.record_episode(
        MODEL,
        "promotion",
        {"version": "2", "from_stage": "staging", "to_stage": "shadow", "outcome": "succeeded"},
    )

    [episode] = memory_.episodes(MODEL)
    assert len(episode_id) == 32 and episode["id"] == episode_id
    assert episode["kind"] == "promotion" and episode["model_name"] == MODEL
    assert episode["path"] == "staging->shadow"
    assert episode["recorded_at"] == "2025-01-01T12:00:01.000000+00:00"
    assert episode["version"] == "2" and episode["outcome"] == "succeeded"


def test_episodes_come_newest_first(memory_: StoreMemory) -> None:
    ids = [memory_.record_episode(MODEL, "health", {"n": n}) for n in range(3)]

    assert [e["id"] for e in memory_.episodes(MODEL)] == ids[::-1]


def test_episodes_recorded_in_the_same_instant_keep_their_recording_order() -> None:
    frozen = StoreMemory(InMemoryStore(), clock=StepClock(step=0))
    ids = [frozen.record_episode(MODEL, "health", {"n": n}) for n in range(5)]

    assert [e["id"] for e in frozen.episodes(MODEL)] == ids[::-1]


def test_episodes_can_be_filtered_by_kind(memory_: StoreMemory) -> None:
    memory_.record_episode(MODEL, "deployment", canary_to_production())
    rollback = memory_.record_episode(MODEL, "rollback", {"outcome": "succeeded"})
    memory_.record_episode(MODEL, "health", {})

    assert [e["id"] for e in memory_.episodes(MODEL, kind="rollback")] == [rollback]


def test_each_model_has_its_own_episodes_even_when_names_share_a_prefix_or_a_period(
    memory_: StoreMemory,
) -> None:
    for name in ("fraud", "fraud_detector", "fraud.v2"):
        memory_.record_episode(name, "health", {"for": name})

    for name in ("fraud", "fraud_detector", "fraud.v2"):
        assert [e["for"] for e in memory_.episodes(name)] == [name]
        assert memory_.procedure(name)["episode_count"] == 1


def test_every_episode_is_read_even_beyond_one_page(
    memory_: StoreMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory.store_memory, "PAGE_SIZE", 3)
    for n in range(8):
        memory_.record_episode(MODEL, "health", {"n": n})

    assert [e["n"] for e in memory_.episodes(MODEL)] == list(range(7, -1, -1))
    assert memory_.procedure(MODEL)["episode_count"] == 8


def test_recording_again_with_the_same_episode_id_replaces_the_episode(
    memory_: StoreMemory,
) -> None:
    first = memory_.record_episode(MODEL, "approval", {"outcome": "refused"}, episode_id="a1")
    again = memory_.record_episode(MODEL, "approval", {"outcome": "succeeded"}, episode_id="a1")

    assert first == again == "a1"
    assert [e["outcome"] for e in memory_.episodes(MODEL)] == ["succeeded"]
    assert memory_.procedure(MODEL)["paths"]["approval"]["refused"] == 0


def test_episode_values_come_back_as_plain_json(memory_: StoreMemory) -> None:
    moment = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    memory_.record_episode(MODEL, "deployment", {"canary_steps": (5, 100), "started_at": moment})

    [episode] = memory_.episodes(MODEL)
    assert episode["canary_steps"] == [5, 100]
    assert episode["started_at"] == "2025-02-03T04:05:06.000000+00:00"


@pytest.mark.parametrize(
    ("kind", "fields", "complaint"),
    [
        ("party", {}, "unknown episode kind"),
        ("deployment", {"outcome": "success"}, "unknown outcome"),
        ("deployment", {"id": "mine"}, "set by the memory"),
        ("deployment", {"model": object()}, "JSON-serialisable"),
    ],
    ids=["an unknown kind", "an unknown outcome", "a reserved field", "a value JSON cannot hold"],
)
def test_a_malformed_episode_is_bad_input_and_nothing_is_stored(
    memory_: StoreMemory, kind: str, fields: Mapping[str, Any], complaint: str
) -> None:
    with pytest.raises(BadInputError, match=complaint):
        memory_.record_episode(MODEL, kind, fields)
    assert memory_.episodes(MODEL) == []


def test_last_episode_is_the_newest_of_a_kind_on_a_path(memory_: StoreMemory) -> None:
    memory_.record_episode(MODEL, "deployment", canary_to_production())
    blue_green = memory_.record_episode(MODEL, "deployment", {"strategy": "blue_green"})
    memory_.record_episode(MODEL, "health", {})

    assert memory_.last_episode(MODEL, "deployment", path="deploy:blue_green") is not None
    assert memory_.last_episode(MODEL, "deployment")["id"] == blue_green  # type: ignore[index]
    assert memory_.last_episode(MODEL, "deployment", path="deploy:shadow") is None


# -- procedure ------------------------------------------------------------------------------


def test_a_model_without_episodes_has_an_empty_procedure(memory_: StoreMemory) -> None:
    assert memory_.procedure(MODEL) == {
        "model_name": MODEL,
        "episode_count": 0,
        "updated_at": None,
        "paths": {},
        "failure_reasons": [],
        "last_successful_canary": None,
        "last_production_rollout": None,
    }


def test_the_procedure_counts_outcomes_per_path(memory_: StoreMemory) -> None:
    move = {"from_stage": "staging", "to_stage": "shadow"}
    for outcome in ("succeeded", "failed", "succeeded", "refused"):
        memory_.record_episode(MODEL, "promotion", {**move, "outcome": outcome})
    memory_.record_episode(MODEL, "deployment", canary_to_production("rolled_back"))

    paths = memory_.procedure(MODEL)["paths"]
    assert paths["staging->shadow"] | {"failure_reasons": None} == {
        "episodes": 4,
        "succeeded": 2,
        "rolled_back": 0,
        "failed": 1,
        "refused": 1,
        "failure_reasons": None,
        "last_episode_id": memory_.episodes(MODEL, "promotion")[0]["id"],
        "last_outcome": "refused",
    }
    assert (paths["deploy:canary"]["succeeded"], paths["deploy:canary"]["rolled_back"]) == (0, 1)


def test_failure_reasons_are_counted_most_common_first(memory_: StoreMemory) -> None:
    memory_.record_episode(MODEL, "promotion", {"outcome": "refused", "reasons": ["accuracy low"]})
    memory_.record_episode(MODEL, "deployment", {"outcome": "failed", "reasons": ["port taken"]})
    memory_.record_episode(
        MODEL, "promotion", {"outcome": "refused", "reasons": ["shadow too young", "accuracy low"]}
    )
    memory_.record_episode(MODEL, "promotion", {"outcome": "succeeded", "reasons": ["ignored"]})

    assert memory_.procedure(MODEL)["failure_reasons"] == [
        {"reason": "accuracy low", "count": 2},
        {"reason": "port taken", "count": 1},
        {"reason": "shadow too young", "count": 1},
    ]


def test_the_canary_schedule_that_last_succeeded_is_remembered(memory_: StoreMemory) -> None:
    memory_.record_episode(MODEL, "deployment", canary_to_production(canary_steps=[10, 50, 100]))
    good = memory_.record_episode(MODEL, "deployment", canary_to_production())
    memory_.record_episode(MODEL, "deployment", canary_to_production("failed", canary_steps=[50]))

    assert memory_.procedure(MODEL)["last_successful_canary"] == {
        "episode_id": good,
        "canary_steps": [5, 10, 25, 50, 100],
    }


def test_a_rollback_marks_the_last_production_rollout_rolled_back(memory_: StoreMemory) -> None:
    rollout = memory_.record_episode(MODEL, "deployment", canary_to_production())
    rollback = memory_.record_episode(
        MODEL, "rollback", {"outcome": "succeeded", "reasons": ["error rate 4.1% > 1%"]}
    )

    procedure = memory_.procedure(MODEL)
    last = procedure["last_production_rollout"]
    assert (last["episode_id"], last["outcome"], last["rolled_back_by"]) == (
        rollout,
        "rolled_back",
        rollback,
    )
    assert last["reasons"] == ["error rate 4.1% > 1%"]
    assert procedure["paths"]["deploy:canary"]["rolled_back"] == 1
    assert procedure["last_successful_canary"] is None
    assert procedure["failure_reasons"] == [{"reason": "error rate 4.1% > 1%", "count": 1}]


def test_a_rollback_naming_a_deployment_marks_that_rollout_only(memory_: StoreMemory) -> None:
    memory_.record_episode(MODEL, "deployment", canary_to_production(deployment_id="d1"))
    newer = memory_.record_episode(MODEL, "deployment", canary_to_production(deployment_id="d2"))
    memory_.record_episode(MODEL, "rollback", {"deployment_id": "d1", "outcome": "succeeded"})

    procedure = memory_.procedure(MODEL)
    last = procedure["last_production_rollout"]
    assert (last["episode_id"], last["outcome"]) == (newer, "succeeded")
    canary = procedure["paths"]["deploy:canary"]
    assert (canary["succeeded"], canary["rolled_back"]) == (1, 1)


def test_the_stored_procedure_is_the_one_distilled_from_all_episodes(
    memory_: StoreMemory,
) -> None:
    memory_.record_episode(MODEL, "deployment", canary_to_production())
    memory_.record_episode(MODEL, "rollback", {"reasons": ["error rate 4.1% > 1%"]})
    memory_.record_episode(MODEL, "promotion", {"outcome": "refused", "reasons": ["too young"]})

    assert memory_.procedure(MODEL) == distill(MODEL, reversed(memory_.episodes(MODEL)))


def test_only_deployments_to_production_are_learned_from(memory_: StoreMemory) -> None:
    # A promotion to production is a stage change under approval; users meet the version only
    # when it is deployed, so a later promotion must not wipe what a rolled-back deploy taught.
    rollout = memory_.record_episode(MODEL, "deployment", canary_to_production())
    memory_.record_episode(MODEL, "deployment", canary_to_production(stage="staging"))
    memory_.record_episode(
        MODEL,
        "promotion",
        {"from_stage": "shadow", "to_stage": "production", "outcome": "succeeded"},
    )
    memory_.record_episode(MODEL, "approval", {"to_stage": "production", "outcome": "succeeded"})

    assert memory_.procedure(MODEL)["last_production_rollout"]["episode_id"] == rollout


def test_a_rollback_without_a_known_rollout_still_counts_as_a_rolled_back_production(
    memory_: StoreMemory,
) -> None:
    rollback = memory_.record_episode(MODEL, "rollback", {"reasons": ["p99 3x baseline"]})

    last = memory_.procedure(MODEL)["last_production_rollout"]
    assert (last["episode_id"], last["outcome"]) == (rollback, "rolled_back")


# -- advice ---------------------------------------------------------------------------------


def rolled_back_rollout(steps: list[int] | None = None) -> dict[str, Any]:
    """A procedure whose last production rollout (episode e1) was rolled back."""
    return {
        "model_name": MODEL,
        "last_production_rollout": {
            "episode_id": "e1",
            "outcome": "rolled_back",
            "reasons": ["error rate 4.1% > 1%"],
            "canary_steps": steps,
        },
    }


SLOW_REASON = (
    f"last production rollout of {MODEL} (episode e1) was rolled back: error rate 4.1% > 1%; "
    "using the conservative rollback config and a slower canary"
)


@pytest.mark.parametrize(
    ("procedure", "expected"),
    [
        pytest.param({}, Advice(), id="nothing known: the balanced defaults and no reason"),
        pytest.param(
            {"model_name": MODEL, "last_production_rollout": {"outcome": "succeeded"}},
            Advice(),
            id="a rollout that succeeded without a canary: the defaults",
        ),
        pytest.param(
            {
                "model_name": MODEL,
                "last_production_rollout": {"episode_id": "e1", "outcome": "succeeded"},
                "last_successful_canary": {"episode_id": "e1", "canary_steps": [5, 20, 100]},
            },
            Advice(
                canary_steps=(5, 20, 100),
                reason=f"reusing the canary schedule that last succeeded for {MODEL} (episode e1)",
            ),
            id="a canary that succeeded: reuse its schedule, balanced",
        ),
        pytest.param(
            {"model_name": MODEL, "last_production_rollout": {"outcome": "failed"}},
            Advice(),
            id="a rollout that failed to start is not a rollback: the defaults",
        ),
        pytest.param(
            rolled_back_rollout([5, 10, 25, 50, 100]),
            Advice("conservative", (1, 5, 10, 25, 50, 100), SLOW_REASON),
            id="a rolled back canary: conservative, a slower canary, naming the episode",
        ),
        pytest.param(
            rolled_back_rollout(),
            Advice("conservative", (1, 5, 10, 25, 50, 100), SLOW_REASON),
            id="a rolled back rollout without a canary: slow down the default canary",
        ),
    ],
)
def test_advice_follows_the_last_production_rollout(
    procedure: Mapping[str, Any], expected: Advice
) -> None:
    assert advise(procedure) == expected


@pytest.mark.parametrize(
    ("steps", "slower"),
    [
        pytest.param((5, 10, 25, 50, 100), (1, 5, 10, 25, 50, 100), id="start at 1% then 5%"),
        pytest.param((10.0, 25.0, 50.0, 100.0), (1, 5, 10, 25, 50, 100), id="floats are percents"),
        pytest.param((20, 60), (1, 5, 20, 60, 100), id="always end at 100%"),
        pytest.param(
            (1, 5, 10, 25, 50, 100),
            (1, 5, 10, 25, 37, 50, 75, 100),
            id="already slow: halve every gap wider than 15 points",
        ),
    ],
)
def test_a_slower_canary_takes_smaller_steps(
    steps: tuple[float, ...], slower: tuple[int, ...]
) -> None:
    assert slower_canary(steps) == slower


def test_memory_advises_caution_after_a_production_rollback(memory_: StoreMemory) -> None:
    rollout = memory_.record_episode(MODEL, "deployment", canary_to_production())
    memory_.record_episode(MODEL, "rollback", {"reasons": ["error rate 4.1% > 1%"]})

    advice = memory_.advice(MODEL)
    assert advice.rollback_preset == "conservative"
    assert advice.canary_steps == (1, 5, 10, 25, 50, 100)
    assert advice.reason is not None and f"(episode {rollout})" in advice.reason


def test_memory_goes_back_to_balanced_after_a_successful_rollout(memory_: StoreMemory) -> None:
    memory_.record_episode(MODEL, "deployment", canary_to_production("rolled_back"))
    memory_.record_episode(MODEL, "deployment", canary_to_production(canary_steps=[1, 5, 100]))

    assert memory_.advice(MODEL).rollback_preset == "balanced"
    assert memory_.advice(MODEL).canary_steps == (1, 5, 100)


# -- database URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////srv/home/deployer.db", ("sqlite", "/srv/home/deployer-agent.db")),
        ("sqlite:///rel/state.sqlite", ("sqlite", "rel/state-agent.sqlite")),
        ("sqlite+pysqlite:////a/b?timeout=5", ("sqlite", "/a/b-agent.db")),
        ("sqlite://", ("sqlite", ":memory:")),
        ("sqlite:///:memory:", ("sqlite", ":memory:")),
        ("postgresql+psycopg://u:p@h:5432/db", ("postgresql", "postgresql://u:p@h:5432/db")),
        ("postgresql://u@h/db", ("postgresql", "postgresql://u@h/db")),
    ],
)
def test_a_database_url_maps_to_the_agents_langgraph_database(
    url: str, expected: tuple[str, str]
) -> None:
    assert parse_database_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://h/db", "/just/a/path.db"])
def test_an_unsupported_database_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_database_url(url)


def test_the_agent_file_is_never_the_deployers_own() -> None:
    assert agent_sqlite_path("sqlite:////x/agent.db") == "/x/agent-agent.db"


def test_a_watch_episode_counts_under_its_trigger_and_advises_nothing(
    memory_: StoreMemory,
) -> None:
    memory_.record_episode("iris", "watch", {"action": "retrain", "trigger": "drift"})
    memory_.record_episode("iris", "watch", {"action": "alert", "trigger": None})
    paths = memory_.procedure("iris")["paths"]
    assert (paths["watch:drift"]["episodes"], paths["watch"]["episodes"]) == (1, 1)
    assert memory_.advice("iris") == Advice(rollback_preset="balanced")
