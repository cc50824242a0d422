"""The operator chat grammar, as rules: each phrasing is one typed request or one question back."""

from __future__ import annotations

import random
import re

import pytest
from pydantic import ValidationError

from agents.commands import (
    Approve,
    Command,
    Decisions,
    Deploy,
    Help,
    History,
    Promote,
    Reject,
    Rollback,
    Status,
    describe,
)
from agents.entrypoints.chat.chat_parser import (
    GRAMMAR_HELP,
    MAX_COMMAND_CHARS,
    Clarification,
    parse,
)
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName

S = ModelStage
K = StrategyName
FD = "fraud_detector"


def promote(stage: ModelStage, version: str = "2", reason: str | None = None) -> Promote:
    return Promote(model_name=FD, version=version, target_stage=stage, reason=reason)


def deploy(strategy: StrategyName | None = None, traffic: float | None = None) -> Deploy:
    return Deploy(model_name=FD, version="2", strategy=strategy, traffic=traffic)


def rollback(to: str | None = None, reason: str | None = None) -> Rollback:
    return Rollback(model_name=FD, to_deployment_id=to, reason=reason)


REQUESTS: dict[str, tuple[str, Command]] = {
    # promote / advance / move
    "promote names the model, the version and the stage": (
        "promote fraud_detector v2 to staging",
        promote(S.STAGING),
    ),
    "move is promote, the version may come first and because starts a reason": (
        "move v3 of fraud_detector to production because shadow looked fine",
        promote(S.PRODUCTION, "3", "shadow looked fine"),
    ),
    "advance is promote and 'version 2' is a version": (
        "advance fraud_detector version 2 to shadow",
        promote(S.SHADOW),
    ),
    "a bare number is a version": ("promote fraud_detector 2 to staging", promote(S.STAGING)),
    "an upper-case V is a version": ("promote fraud_detector V2 to staging", promote(S.STAGING)),
    "leading zeros of a version are dropped": (
        "promote fraud_detector v02 to staging",
        promote(S.STAGING),
    ),
    "the stage may come without 'to'": ("promote fraud_detector v2 staging", promote(S.STAGING)),
    "prod is short for production": ("promote fraud_detector v2 to prod", promote(S.PRODUCTION)),
    "dev is short for development": ("move fraud_detector v2 to dev", promote(S.DEVELOPMENT)),
    "reason: starts a reason": (
        "promote fraud_detector v2 to staging reason: offline metrics passed",
        promote(S.STAGING, reason="offline metrics passed"),
    ),
    "flags spelled as on the command line work": (
        "promote fraud_detector 2 --to staging --reason ticket 42",
        promote(S.STAGING, reason="ticket 42"),
    ),
    "verbs and stages are case-insensitive; model names keep their case": (
        "PROMOTE Fraud_Detector v2 TO Staging",
        Promote(model_name="Fraud_Detector", version="2", target_stage=S.STAGING),
    ),
    "trailing punctuation and extra whitespace are ignored": (
        "  promote \t fraud_detector   v2  to staging.  ",
        promote(S.STAGING),
    ),
    "a trailing question mark is ignored": (
        "promote fraud_detector v2 to staging?",
        promote(S.STAGING),
    ),
    "quotes around a model name are dropped": (
        "promote 'fraud_detector' v2 to staging",
        promote(S.STAGING),
    ),
    "please in front is ignored": (
        "please promote fraud_detector v2 to staging",
        promote(S.STAGING),
    ),
    "model names may hold digits, dashes and dots": (
        "promote churn-model.v2_1 v4 to shadow",
        Promote(model_name="churn-model.v2_1", version="4", target_stage=S.SHADOW),
    ),
    "the same version said twice is no conflict": (
        "promote fraud_detector v2 version 2 to staging",
        promote(S.STAGING),
    ),
    # deploy / release / ship
    "deploy takes a strategy after 'as' and a share after 'at'": (
        "deploy fraud_detector v2 as canary at 10%",
        deploy(K.CANARY, 10.0),
    ),
    "ship is deploy and blue-green is blue_green": (
        "ship fraud_detector 2 with blue-green",
        deploy(K.BLUE_GREEN),
    ),
    "release is deploy and a bare strategy and share are read": (
        "release v2 of fraud_detector canary 5%",
        deploy(K.CANARY, 5.0),
    ),
    "deploy without strategy or share leaves both to the CLI": (
        "deploy fraud_detector v2",
        deploy(),
    ),
    "the default strategy is no strategy": (
        "deploy fraud_detector v2 with the default strategy",
        deploy(),
    ),
    "direct is a strategy": ("deploy fraud_detector v2 direct", deploy(K.DIRECT)),
    "rolling is a strategy": ("deploy fraud_detector v2 using rolling", deploy(K.ROLLING)),
    "shadow is a strategy when deploying": ("deploy fraud_detector v2 as shadow", deploy(K.SHADOW)),
    "blue_green is a strategy": ("deploy fraud_detector v2 blue_green", deploy(K.BLUE_GREEN)),
    "bluegreen is blue_green": ("deploy fraud_detector v2 bluegreen", deploy(K.BLUE_GREEN)),
    "blue green in two words is blue_green": (
        "deploy fraud_detector v2 as Blue Green",
        deploy(K.BLUE_GREEN),
    ),
    "a strategy may be followed by 'strategy' or 'rollout'": (
        "deploy fraud_detector v2 with a canary rollout",
        deploy(K.CANARY),
    ),
    "--strategy and --traffic flags work": (
        "deploy fraud_detector v2 --strategy canary --traffic 25",
        deploy(K.CANARY, 25.0),
    ),
    "'10 percent' is a traffic share": (
        "deploy fraud_detector v2 canary 10 percent",
        deploy(K.CANARY, 10.0),
    ),
    "'at 10' is a traffic share": ("deploy fraud_detector v2 canary at 10", deploy(K.CANARY, 10.0)),
    "a percent sign may stand apart": (
        "deploy fraud_detector v2 canary 10 %",
        deploy(K.CANARY, 10.0),
    ),
    "a share may have decimals": ("deploy fraud_detector v2 canary 12.5%", deploy(K.CANARY, 12.5)),
    "0% is a share": ("deploy fraud_detector v2 blue-green at 0%", deploy(K.BLUE_GREEN, 0.0)),
    "100% is a share": ("deploy fraud_detector v2 at 100%", deploy(traffic=100.0)),
    # rollback / roll back / revert / undo
    "rollback needs only the model": ("rollback fraud_detector", rollback()),
    "roll back in two words is rollback": ("roll back fraud_detector", rollback()),
    "revert goes to a named deployment": (
        "revert fraud_detector to dep_abc123",
        rollback("dep_abc123"),
    ),
    "undo is rollback and because starts a reason": (
        "undo fraud_detector because errors spiked",
        rollback(reason="errors spiked"),
    ),
    "'to deployment ID' names the deployment": (
        "rollback fraud_detector to deployment fraud_detector-v1-1a2b3c4d",
        rollback("fraud_detector-v1-1a2b3c4d"),
    ),
    "--to and --reason flags work": (
        "rollback fraud_detector --to dep_1 --reason latency",
        rollback("dep_1", "latency"),
    ),
    "'to the previous version' is the default target": (
        "roll back fraud_detector to the previous version",
        rollback(),
    ),
    # approve / reject
    "approve takes an id": ("approve 12", Approve(approval_id="12")),
    "words after the id are the comment": (
        "approve approval 12 looks good",
        Approve(approval_id="12", comment="looks good"),
    ),
    "reject takes a comment after because": (
        "reject 12 because metrics are stale",
        Reject(approval_id="12", comment="metrics are stale"),
    ),
    "a hash before the id is dropped": ("Approve #12.", Approve(approval_id="12")),
    "a uuid is an approval id": (
        "approve id 3f2b8c1e-1d2a-4b7e-9f00-123456789abc",
        Approve(approval_id="3f2b8c1e-1d2a-4b7e-9f00-123456789abc"),
    ),
    "a prefixed id is an approval id": (
        "reject apr_1a2b3c --comment wrong model",
        Reject(approval_id="apr_1a2b3c", comment="wrong model"),
    ),
    "a long hex word is an approval id": (
        "approve deadbeefcafe",
        Approve(approval_id="deadbeefcafe"),
    ),
    "comment: starts a comment": (
        "reject approval 7 comment: shadow too short",
        Reject(approval_id="7", comment="shadow too short"),
    ),
    # status / show / what's running
    "status alone covers every model": ("status", Status()),
    "show alone is status": ("show", Status()),
    "what is running is status": ("what is running", Status()),
    "what's running is status": ("what's running?", Status()),
    "whats running is status": ("whats running", Status()),
    "a typographic apostrophe is read as one": ("what\u2019s running", Status()),
    "status takes a model": ("status fraud_detector", Status(model_name=FD)),
    "show takes a model": ("show fraud_detector", Status(model_name=FD)),
    "what's running may name a model": (
        "what's running for fraud_detector",
        Status(model_name=FD),
    ),
    "show status of all models is status": ("show status of all models", Status()),
    # history
    "history takes a model": ("history fraud_detector", History(model_name=FD)),
    "show history of is history": ("show history of fraud_detector", History(model_name=FD)),
    "show the history of is history": (
        "Show the history of Fraud_Detector.",
        History(model_name="Fraud_Detector"),
    ),
    # the monitor's decisions
    "decisions takes a model": ("decisions iris", Decisions(model_name="iris")),
    "what did the monitor decide about is decisions": (
        "What did the monitor decide about iris?",
        Decisions(model_name="iris"),
    ),
    "what has the monitor decided is decisions": (
        "what has the monitor decided for fraud_detector",
        Decisions(model_name=FD),
    ),
    "show the decisions of is decisions": (
        "show the decisions of fraud_detector",
        Decisions(model_name=FD),
    ),
    "show decisions is decisions": ("please show decisions iris", Decisions(model_name="iris")),
    "monitor decisions is decisions": (
        "monitor decisions about iris",
        Decisions(model_name="iris"),
    ),
    "the latest decisions are decisions": (
        "decisions latest iris",
        Decisions(model_name="iris"),
    ),
    "show alone is still status": ("show iris", Status(model_name="iris")),
    # help
    "help decisions is its help": ("help decisions", Help(topic="decisions")),
    "help alone is help": ("help", Help()),
    "a question mark is help": ("?", Help()),
    "question marks alone are help": (" ?? ", Help()),
    "what can you do is help": ("What can you do?", Help()),
    "help takes a command as topic": ("help deploy", Help(topic="deploy")),
    "a synonym as topic is its command": ("help ship", Help(topic="deploy")),
    "a two-word synonym as topic is its command": ("help roll back", Help(topic="rollback")),
    "help with other words has no topic": ("help me", Help()),
    # versions people use (issue 15)
    "a label is a version": (
        "promote fraud_detector 1.2.0 to staging",
        promote(S.STAGING, "1.2.0"),
    ),
    "a label's v is dropped": (
        "promote fraud_detector v1.2.0 to shadow",
        promote(S.SHADOW, "1.2.0"),
    ),
    "'version' may precede a label": (
        "advance fraud_detector version 1.10.0 to staging",
        promote(S.STAGING, "1.10.0"),
    ),
    "latest is a version": (
        "deploy fraud_detector latest as canary 10%",
        Deploy(model_name=FD, version="latest", strategy=K.CANARY, traffic=10.0),
    ),
    "latest may come first": (
        "promote latest fraud_detector to staging",
        promote(S.STAGING, "latest"),
    ),
}


@pytest.mark.parametrize(("text", "expected"), REQUESTS.values(), ids=REQUESTS.keys())
def test_each_phrasing_is_read_as_its_request(text: str, expected: Command) -> None:
    assert parse(text) == expected


CLARIFICATIONS: dict[str, tuple[str, str, str]] = {
    "promote without a version asks for the version": (
        "promote fraud_detector to staging",
        "version",
        "Which version of fraud_detector should I promote to staging?",
    ),
    "promote without a model asks for the model": (
        "promote v2 to staging",
        "model_name",
        "Which model's v2 should I promote to staging?",
    ),
    "promote without a stage asks for the stage": (
        "promote fraud_detector v2",
        "target_stage",
        "Which stage should I promote v2 of fraud_detector to",
    ),
    "promote alone asks for the model": ("promote", "model_name", "Which model should I promote?"),
    "two versions are questioned": (
        "promote fraud_detector v2 v3 to staging",
        "version",
        "Which version did you mean: v2 or v3?",
    ),
    "two stages are questioned": (
        "promote fraud_detector v2 to staging and production",
        "target_stage",
        "staging or production",
    ),
    "an unknown stage is questioned and the stages are listed": (
        "promote fraud_detector v2 to qa",
        "command",
        "'qa'",
    ),
    "a stray word is questioned, not dropped": (
        "promote fraud_detector v2 to staging now",
        "command",
        "'now'",
    ),
    "deploy without a version asks for the version": (
        "deploy fraud_detector",
        "version",
        "Which version of fraud_detector should I deploy?",
    ),
    "deploy without a model asks for the model": (
        "ship v2 as canary",
        "model_name",
        "Which model's v2 should I deploy?",
    ),
    "two strategies are questioned": (
        "deploy fraud_detector v2 as canary with blue-green",
        "strategy",
        "canary or blue_green",
    ),
    "two traffic shares are questioned": (
        "deploy fraud_detector v2 at 10% and 20%",
        "traffic",
        "10% or 20%",
    ),
    "deploy takes no stage: that is a promotion": (
        "deploy fraud_detector v2 to production",
        "command",
        "'production'",
    ),
    "deploy takes no reason": (
        "deploy fraud_detector v2 because tests passed",
        "command",
        "'because'",
    ),
    "rollback without a model asks for the model": (
        "rollback",
        "model_name",
        "Which model should I roll back?",
    ),
    "rollback goes to a deployment, not a version": (
        "rollback fraud_detector to v1",
        "command",
        "'v1'",
    ),
    "approve without an id asks for it": (
        "approve",
        "approval_id",
        "Which approval should I approve?",
    ),
    "reject without an id asks for it": (
        "reject because stale",
        "approval_id",
        "Which approval should I reject?",
    ),
    "a word that is no id is not taken for one": (
        "approve looks good",
        "approval_id",
        "Give its id",
    ),
    "history without a model asks for the model": (
        "show history",
        "model_name",
        "Which model's history should I show?",
    ),
    "status takes no version": ("status fraud_detector v2", "command", "'v2'"),
    "decisions without a model asks for the model": (
        "what did the monitor decide",
        "model_name",
        "Which model's monitor decisions should I show?",
    ),
    "decisions take no version": ("decisions iris v2", "command", "'v2'"),
    "empty text suggests help": ("", "command", "help"),
    "blank text suggests help": ("  \t ", "command", "help"),
    "punctuation alone suggests help": ("...", "command", "help"),
    "an unknown verb suggests help": ("frobnicate fraud_detector", "command", "help"),
    "a verb in the middle is not a command": (
        "please kindly promote fraud_detector",
        "command",
        "help",
    ),
    "a too long text suggests help": ("status " + "x" * MAX_COMMAND_CHARS, "command", "help"),
}


@pytest.mark.parametrize(
    ("text", "missing", "fragment"), CLARIFICATIONS.values(), ids=CLARIFICATIONS.keys()
)
def test_an_incomplete_or_ambiguous_command_asks_one_question(
    text: str, missing: str, fragment: str
) -> None:
    answer = parse(text)
    assert isinstance(answer, Clarification)
    assert answer.missing == missing
    assert fragment in answer.question


def test_a_clarification_keeps_what_was_understood() -> None:
    answer = parse("move fraud_detector to staging because offline checks passed")
    assert isinstance(answer, Clarification)
    assert answer.partial == {
        "kind": "promote",
        "model_name": FD,
        "target_stage": "staging",
        "reason": "offline checks passed",
    }


def test_an_unknown_stage_lists_the_stages() -> None:
    answer = parse("promote fraud_detector v2 to qa")
    assert isinstance(answer, Clarification)
    assert all(stage.value in answer.question for stage in ModelStage)


BAD_TRAFFIC = {
    "more than 100% is refused": "deploy fraud_detector v2 as canary at 150%",
    "a negative share is refused": "deploy fraud_detector v2 as canary -5%",
    "'at 101' is refused": "deploy fraud_detector v2 as canary at 101",
    "just over 100 percent is refused": "deploy fraud_detector v2 as canary 100.5 percent",
    "a huge share is refused": "deploy fraud_detector v2 at 1" + "0" * 400 + "%",
}


@pytest.mark.parametrize("text", BAD_TRAFFIC.values(), ids=BAD_TRAFFIC.keys())
def test_a_traffic_share_outside_0_to_100_is_questioned(text: str) -> None:
    answer = parse(text)
    assert isinstance(answer, Clarification)
    assert answer.missing == "traffic"
    assert "between 0 and 100" in answer.question
    assert "traffic" not in answer.partial
    assert answer.partial["model_name"] == FD


KNOWN = ["fraud_detector", "fraud_detector_v2", "churn", "credit_risk"]


def test_a_known_model_is_accepted() -> None:
    assert parse("promote fraud_detector v2 to staging", KNOWN) == promote(S.STAGING)


UNKNOWN_MODEL = {
    "promote names the unknown model and offers close matches": (
        "promote fraud_detecter v2 to staging",
        ["fraud_detector", "fraud_detector_v2"],
    ),
    "deploy checks the model before asking for the version": (
        "deploy fraud_detecter",
        ["fraud_detector", "fraud_detector_v2"],
    ),
    "rollback checks the model": ("rollback chrun", ["churn"]),
    "status checks the model": ("status credit-risk", ["credit_risk"]),
    "history checks the model": ("history fraud_detectr", ["fraud_detector", "fraud_detector_v2"]),
    "a name that begins a known model is offered it": (
        "status fraud",
        ["fraud_detector", "fraud_detector_v2"],
    ),
    "a model far from every known one gets no suggestion": ("deploy zebra v2", []),
}


@pytest.mark.parametrize(("text", "suggested"), UNKNOWN_MODEL.values(), ids=UNKNOWN_MODEL.keys())
def test_an_unknown_model_is_named_with_close_matches(text: str, suggested: list[str]) -> None:
    answer = parse(text, KNOWN)
    assert isinstance(answer, Clarification)
    assert answer.missing == "model_name"
    unknown = text.split()[1]
    assert f"'{unknown}'" in answer.question
    offer = answer.question.partition("Did you mean ")[2].removesuffix("?")
    assert set(re.split(r", | or ", offer) if offer else []) == set(suggested)
    assert "model_name" not in answer.partial
    if not suggested:
        assert "Which model did you mean?" in answer.question


def test_at_most_five_close_matches_are_offered() -> None:
    known = [f"fraud_{letter}" for letter in "abcdefghij"]
    answer = parse("status fraud_", known)
    assert isinstance(answer, Clarification)
    assert len(re.findall(r"fraud_[a-j]\b", answer.question)) == 5


def test_close_matches_ignore_case_and_offer_the_real_spelling() -> None:
    answer = parse("status fraud_detector", ["Fraud_Detector"])
    assert isinstance(answer, Clarification)
    assert "Did you mean Fraud_Detector?" in answer.question


def test_an_empty_list_of_known_models_knows_no_model() -> None:
    assert isinstance(parse("status fraud_detector", []), Clarification)


def test_commands_without_a_model_ignore_known_models() -> None:
    assert parse("status", KNOWN) == Status()
    assert parse("approve 12", KNOWN) == Approve(approval_id="12")


JUNK = [
    "",
    " ",
    "\t\n\r",
    "\x00",
    "\x00promote fraud_detector v2 to staging",
    "🚀",
    "deploy 🚀 v2",
    "promote 🚀🚀 to staging",
    "approve 🚀",
    "status ✨",
    "промоутировать модель v2",
    "部署 模型",
    "\u202epromote fraud_detector v2 to staging",
    "!!!",
    "???!",
    "%",
    "--",
    "-",
    "v2",
    "12",
    "fraud_detector",
    "None",
    "null",
    "{}",
    "[]",
    '{"kind": "promote"}',
    "DROP TABLE models;",
    "<script>alert(1)</script>",
    "rollback ../../etc/passwd",
    "history $(rm -rf /)",
    "promote fraud_detector v2 to staging " + "and v3 " * 3,
    "deploy fraud_detector v2 at nan%",
    "deploy fraud_detector v2 at inf%",
    "approve approval approval",
    "reject ####",
    "a" * 100_000,
    "promote " * 1_000,
    "deploy fraud_detector " + "v2 v3 " * 300,
    "é" * 5_000,
]


@pytest.mark.parametrize("text", JUNK, ids=lambda text: repr(text[:30]))
def test_junk_gets_a_clarification_never_an_exception(text: str) -> None:
    assert isinstance(parse(text), Clarification)


SOUP_WORDS = (
    "promote advance move deploy release ship rollback roll back revert undo approve reject "
    "status show history help what's running what is can you do fraud_detector Fraud-2 v2 V3 "
    "version 2 10 10% 150% -5 at to of as with staging shadow production prod canary blue green "
    "blue-green because reason: --to ? . # ' \" % 🚀 é \x00 \u200b --reason= … 0"
)
SOUP = SOUP_WORDS.split(" ")


def test_random_word_soup_never_raises_and_every_request_can_be_described() -> None:
    rng = random.Random(20240601)
    for _ in range(3_000):
        text = " ".join(rng.choice(SOUP) for _ in range(rng.randint(0, 12)))
        answer = parse(text, KNOWN if rng.random() < 0.5 else None)
        if not isinstance(answer, Clarification):
            assert describe(answer).endswith(".")


DESCRIPTIONS: dict[str, tuple[Command, str]] = {
    "a promotion": (promote(S.STAGING), "Promote v2 of fraud_detector to staging."),
    "a promotion with a reason": (
        promote(S.PRODUCTION, reason="shadow looked fine"),
        "Promote v2 of fraud_detector to production because shadow looked fine.",
    ),
    "a deploy with the default strategy": (
        deploy(),
        "Deploy v2 of fraud_detector with the default strategy.",
    ),
    "a canary deploy with a share": (
        deploy(K.CANARY, 12.5),
        "Deploy v2 of fraud_detector with the canary strategy at 12.5% traffic.",
    ),
    "a blue-green deploy": (
        deploy(K.BLUE_GREEN),
        "Deploy v2 of fraud_detector with the blue-green strategy.",
    ),
    "a rollback to the previous deployment": (
        rollback(),
        "Roll back fraud_detector to its previous deployment.",
    ),
    "a rollback to a named deployment with a reason": (
        rollback("dep_abc123", "errors spiked"),
        "Roll back fraud_detector to deployment dep_abc123 because errors spiked.",
    ),
    "an approval": (Approve(approval_id="12"), "Approve approval 12."),
    "an approval with a comment": (
        Approve(approval_id="12", comment="looks good"),
        "Approve approval 12 with the comment: looks good.",
    ),
    "a rejection with a comment": (
        Reject(approval_id="12", comment="metrics are stale"),
        "Reject approval 12 with the comment: metrics are stale.",
    ),
    "the status of every model": (Status(), "Show the status of all models."),
    "the status of one model": (
        Status(model_name=FD),
        "Show the status of fraud_detector.",
    ),
    "a history": (History(model_name=FD), "Show the history of fraud_detector."),
    "the monitor's decisions": (
        Decisions(model_name=FD),
        "Show the monitor's decisions about fraud_detector.",
    ),
    "a promotion by label": (
        promote(S.STAGING, "1.2.0"),
        "Promote v1.2.0 of fraud_detector to staging.",
    ),
    "a deploy of the latest version": (
        Deploy(model_name=FD, version="latest"),
        "Deploy the latest version of fraud_detector with the default strategy.",
    ),
}


@pytest.mark.parametrize(("request_", "sentence"), DESCRIPTIONS.values(), ids=DESCRIPTIONS.keys())
def test_describe_says_what_will_be_done_in_one_sentence(request_: Command, sentence: str) -> None:
    assert describe(request_) == sentence


@pytest.mark.parametrize(("request_", "sentence"), DESCRIPTIONS.values(), ids=DESCRIPTIONS.keys())
def test_a_confirmation_sentence_reads_back_as_the_same_request(
    request_: Command, sentence: str
) -> None:
    assert parse(sentence) == request_


def test_help_is_described() -> None:
    assert describe(Help()) == "Explain the commands I understand."
    assert describe(Help(topic="deploy")) == "Explain the deploy command."


def test_the_help_text_names_every_command_stage_and_strategy() -> None:
    words = "promote advance move deploy release ship rollback revert undo approve reject"
    words += " status show history help decisions"
    for word in [*words.split(), *ModelStage, *StrategyName]:
        assert word in GRAMMAR_HELP


def test_requests_are_frozen() -> None:
    request = promote(S.STAGING)
    with pytest.raises(ValidationError):
        request.version = "3"  # type: ignore[misc]


def test_a_request_refuses_a_traffic_share_outside_0_to_100() -> None:
    with pytest.raises(ValidationError):
        Deploy(model_name=FD, version="2", traffic=101.0)


def test_a_rollback_can_name_the_deployment_to_undo() -> None:
    parsed = parse("rollback fraud --undo fraud-v2-abc123 because errors")
    assert isinstance(parsed, Rollback)
    assert (parsed.to_deployment_id, parsed.undo_deployment_id) == (None, "fraud-v2-abc123")
