"""Take the dashboard's screenshots (docs/screenshots/): overview, a model during its canary,
approvals, audit.

By default it runs ``deployer demo --home HOME`` in a fresh home (a process of its own) and,
while the demo runs, serves ``deployer api`` over that home and photographs the overview and
the model's page as soon as a canary has been judged a few times (the rollout timeline and the
canary-against-stable charts, mid-canary). When the demo is over it asks for one more
promotion to production (a second model, so the demo's story is untouched) and photographs the
approvals page with it waiting, as an approver sees it, and the audit page.

``--home DIR`` works in DIR instead of a fresh temporary folder; with ``--as-is`` it runs no demo
and photographs DIR as it is (a home the demo left, say), canary page included when one runs.
Every process it starts (the demo, the API, chromedriver and Chromium) is stopped by PID;
telemetry is off.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.browser import chromium  # noqa: E402

from agents.bootstrap import bootstrap  # noqa: E402
from agents.commands import Promote, Register  # noqa: E402
from agents.handlers import access, operations, registration  # noqa: E402
from agents.settings import Settings, local_identity  # noqa: E402
from mlops.processes import free_port, terminate_tree, wait_http_ok  # noqa: E402
from mlops.training import train_and_log  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
MODEL = "iris_classifier"
SECOND = "churn_scorer"
QUIET = {"BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
DEPLOYER = Path(sys.executable).with_name("deployer")


def query(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(f"file:{home / 'deployer.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(sql, params).fetchall()
    except sqlite3.Error:
        return []


def wait_for(what: str, check: Any, seconds: float, alive: Any = lambda: True) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if not alive():
            raise SystemExit(f"screenshots: the demo ended before {what}")
        time.sleep(0.5)
    raise SystemExit(f"screenshots: no {what} after {seconds:g} s")


def canary_judged(home: Path) -> str | None:
    """A live canary of the demo's model judged at least three times (its id), or None."""
    rows = query(
        home,
        "SELECT d.deployment_id, count(h.id) FROM ml_deployments d "
        "JOIN health_checks h ON h.deployment_id = d.deployment_id "
        "WHERE d.strategy = 'canary' AND d.status = 'active' AND h.metrics LIKE '%candidate%' "
        "GROUP BY d.deployment_id",
    )
    return next((dep for dep, n in rows if n >= 3), None)


def shoot(driver: Any, url: str, name: str, width: int = 1280) -> Path:
    """Open ``url`` and save the whole page (not only the window) as docs/screenshots/NAME."""
    driver.set_window_size(width, 900)
    driver.get(url)
    time.sleep(0.5)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 120, 6000))
    time.sleep(0.3)
    path = OUT / name
    driver.save_screenshot(str(path))
    print(f"screenshots: {path.relative_to(ROOT)} ({url})")
    return path


def log_in(driver: Any, api: str, token: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{api}/ui/login")
    driver.find_element("id", "token").send_keys(token)
    driver.find_element("css selector", "form button[type=submit]").click()
    wait_for("overview after login", lambda: "/ui/" in driver.current_url, 30)


def tokens(home: Path) -> dict[str, str]:
    """A viewer and an approver of our own (the demo's bob keeps his)."""
    c = bootstrap(Settings(DEPLOYER_HOME=str(home)))
    try:
        me = local_identity()
        access.ensure_first_admin(c, me)
        made = {}
        for user, role in (("vera", "viewer"), ("carol", "approver")):
            access.grant(c, me, user, role)
            made[user] = access.create_token(c, me, user)["token"]
        return made
    finally:
        c.close()


def waiting_promotion(home: Path) -> str:
    """A second model's v1 asked to production by the OS user: it waits for an approver."""
    settings = Settings(DEPLOYER_HOME=str(home), DEPLOYER_SHADOW_MIN_HOURS="0")
    c = bootstrap(settings)
    try:
        me = local_identity()
        trained = train_and_log(
            settings.tracking_uri, "iris", 1, artifact_root=settings.artifact_root
        )
        registered = registration.register(
            c,
            Register(
                model_name=SECOND,
                model_uri=trained.model_uri,
                criteria=["accuracy>=0.8"],
                metrics={},
            ),
            me,
        )
        version = str(registered["version"])
        for stage in ("staging", "shadow"):
            asked = {"model_name": SECOND, "version": version, "target_stage": stage}
            operations.execute(c, Promote.model_validate(asked), me, "cli")
        asked = {
            "model_name": SECOND,
            "version": version,
            "target_stage": "production",
            "reason": "beats the rules-based scorer on last month's churn",
        }
        waiting = operations.execute(c, Promote.model_validate(asked), me, "cli")
        return str(waiting.get("approval_id"))
    finally:
        c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="work in this folder (default: a fresh one)")
    parser.add_argument("--as-is", action="store_true", help="run no demo: use --home as it is")
    args = parser.parse_args()
    if args.as_is and not args.home:
        parser.error("--as-is needs --home")
    home = Path(args.home or tempfile.mkdtemp(prefix="deployer-screens-")).resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **QUIET, "DEPLOYER_HOME": str(home)}
    env.pop("DEPLOYER_DATABASE_URL", None)
    os.environ.update(QUIET)
    log = (home.parent / f"{home.name}-screenshots.log").open("ab")
    demo = subprocess.Popen(
        [str(DEPLOYER), "demo", "--home", str(home)] if not args.as_is else ["true"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    if args.as_is:
        demo.wait()
    api = None
    try:
        running = lambda: args.as_is or demo.poll() is None  # noqa: E731
        wait_for("state database", lambda: query(home, "SELECT 1 FROM approvals"), 300, running)
        wait_for("first admin", lambda: query(home, "SELECT 1 FROM access_bindings"), 120, running)
        made = tokens(home)
        port = free_port()
        api = subprocess.Popen(
            [str(DEPLOYER), "api", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        assert wait_http_ok(f"{url}/healthz", 60, lambda: api.poll() is None), "no api"
        with chromium(home.parent / f"{home.name}-browser") as driver:
            log_in(driver, url, made["vera"])
            try:
                wait_for(
                    "judged canary", lambda: canary_judged(home), 5 if args.as_is else 600, running
                )
                shoot(driver, f"{url}/ui/", "overview.png")
                shoot(driver, f"{url}/ui/models/{MODEL}", "model-canary.png")
            except SystemExit as missed:  # the demo failed (a loaded machine): keep the rest
                print(missed)
            print("screenshots: waiting for the demo to finish")
            demo.wait(timeout=900)
            if not query(home, "SELECT 1 FROM approvals WHERE state = 'pending'"):
                waiting_promotion(home)
            log_in(driver, url, made["carol"])
            shoot(driver, f"{url}/ui/approvals", "approvals.png")
            shoot(driver, f"{url}/ui/audit", "audit.png")
            shoot(driver, f"{url}/ui/models/{MODEL}", "model-after.png")
            shoot(driver, f"{url}/ui/", "overview-phone.png", width=400)
    finally:
        for proc in (api, demo):
            if proc is not None:
                terminate_tree(proc.pid)
                proc.wait(timeout=30)
        if demo.returncode not in (0, None):
            print(f"screenshots: the demo exited {demo.returncode}; see {log.name}")
        log.close()


if __name__ == "__main__":
    main()
