"""The sync step machine, driven by a small fake driver over an in-memory cluster.

``Driver`` plays the part of the I/O loop: it performs each decision's actions on a dict of live
objects, whose health follows a per-object script, and feeds the results and observations back.
Its trace ("t=… verb Kind/name") is what the scenarios assert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gitloop.gitops.sync import (
    Action,
    ActionResult,
    Apply,
    CreateHook,
    DeleteHook,
    Finish,
    LiveObservation,
    Observations,
    OperationPhase,
    OperationState,
    PlanInput,
    PropagationPolicy,
    Prune,
    ReleaseHook,
    ResultCode,
    SyncOptions,
    SyncPlan,
    TaskStatus,
    WaitHealth,
    decide,
    plan_sync,
    request_termination,
    start,
    watched,
)
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.spec.manifests import load_manifests

TESTDATA = Path(__file__).parent / "testdata"

H = HealthResult(HealthStatus.HEALTHY)
P = HealthResult(HealthStatus.PROGRESSING)
NONE = None  # the kind has no health rule


def D(message: str) -> HealthResult:
    return HealthResult(HealthStatus.DEGRADED, message)


def manifests(case: str, side: str) -> list[Manifest]:
    path = TESTDATA / f"{case}-{side}.yaml"
    return [m for _, m in load_manifests([path])] if path.exists() else []


def plan(case: str, **request: Any) -> SyncPlan:
    request.setdefault("namespace", "shop")
    request.setdefault("revision", "3f2c1ab9d8e7")
    request.setdefault("started_at", 1700000000)
    return plan_sync(PlanInput(desired=manifests(case, "desired"), live=manifests(case, "live"), **request))


@dataclass
class Driver:
    """An in-memory cluster and the loop around ``decide``."""

    health: dict[str, list[HealthResult | None]] = field(default_factory=dict)
    """Object name -> health at each observation; the last entry repeats. Unlisted: no health rule."""
    fail_apply: dict[str, str] = field(default_factory=dict)
    fail_dry_run: dict[str, str] = field(default_factory=dict)
    slow_delete: dict[str, int] = field(default_factory=dict)
    """Object name -> observations during which it is still there, being deleted."""
    live: dict[ResourceKey, dict[str, Any]] = field(default_factory=dict)
    now: float = 100.0
    confirmed: bool = False
    fail_delete: dict[str, str] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)

    def load(self, objects: Sequence[Manifest]) -> Driver:
        for obj in objects:
            self.live[ResourceKey.of(obj)] = {"deleting": 0}
        return self

    def note(self, verb: str, key: ResourceKey, extra: str = "") -> None:
        self.trace.append(f"t={self.now:g} {verb} {key.kind}/{key.name}{extra}")

    def observe(self, keys: frozenset[ResourceKey]) -> dict[ResourceKey, LiveObservation]:
        found = {}
        for key in sorted(keys):
            obj = self.live.get(key)
            if obj is None:
                continue
            if obj["deleting"]:
                obj["deleting"] -= 1
                found[key] = LiveObservation(health=H, deleting=True)
                if not obj["deleting"]:
                    del self.live[key]
                continue
            script = self.health.get(key.name, [NONE])
            index = self.seen.get(key.name, 0)
            self.seen[key.name] = index + 1
            found[key] = LiveObservation(health=script[min(index, len(script) - 1)])
        return found

    def remove(self, key: ResourceKey) -> None:
        if key in self.live:
            steps = self.slow_delete.get(key.name, 0)
            if steps:
                self.live[key]["deleting"] = steps
            else:
                del self.live[key]

    def perform(self, actions: Sequence[Action]) -> list[ActionResult]:
        results = []
        for action in actions:
            match action:
                case Apply(task, dry_run) | CreateHook(task, dry_run):
                    verb = "create-hook" if isinstance(action, CreateHook) else str(task.action)
                    failures = self.fail_dry_run if dry_run else self.fail_apply
                    self.note(f"dry-run {verb}" if dry_run else verb, task.key)
                    if task.key.name in failures:
                        results.append(ActionResult(task.id, False, failures[task.key.name]))
                        continue
                    if not dry_run:
                        self.live[task.key] = {"deleting": 0}
                        self.seen.pop(task.key.name, None)
                    results.append(
                        ActionResult(task.id, True, f"{task.key.kind.lower()}/{task.key.name} configured")
                    )
                case Prune(task, propagation):
                    self.note("prune", task.key, f" ({propagation})")
                    if task.key.name in self.fail_delete:
                        results.append(ActionResult(task.id, False, self.fail_delete[task.key.name]))
                        break  # the rest of the batch is not performed
                    self.remove(task.key)
                    results.append(ActionResult(task.id, True))
                case DeleteHook(task, reason, _):
                    self.note("delete-hook", task.key, f" ({reason})")
                    self.remove(task.key)
                    results.append(ActionResult(task.id, True))
                case ReleaseHook(task):
                    self.note("release", task.key)
                case WaitHealth() | Finish():
                    pass
        return results

    def step(
        self, state: OperationState, results: Sequence[ActionResult]
    ) -> tuple[OperationState, list[ActionResult], float | None]:
        observations = Observations(
            now=self.now, results=results, live=self.observe(watched(state)), prune_confirmed=self.confirmed
        )
        decision = decide(state, observations)
        return decision.state, self.perform(decision.actions), decision.wake_at

    def run(
        self,
        state: OperationState,
        results: Sequence[ActionResult] = (),
        *,
        steps: int = 60,
        json_every_step: bool = False,
    ) -> OperationState:
        for _ in range(steps):
            state, performed, wake_at = self.step(state, results)
            results = performed
            if json_every_step:
                state = OperationState.from_json(state.to_json())
            if state.phase.completed:
                return state
            self.now = max(self.now + 1, wake_at or 0)
        raise AssertionError(f"no end after {steps} steps: {state.message}")


def outcome(state: OperationState) -> dict[str, tuple[str, str | None, str]]:
    """Task name -> (status, result code, message)."""
    return {
        r.key.name: (str(r.hook_phase), str(r.status) if r.status else None, r.message)
        for r in state.results()
    }


def test_waves_apply_in_order_each_after_the_previous_is_healthy() -> None:
    driver = Driver(health={"api": [P, P, H]}).load(manifests("waves", "live"))
    state = driver.run(start(plan("waves", prune=True)))
    assert state.phase is OperationPhase.SUCCEEDED
    assert state.message == "successfully synced (all tasks run)"
    assert [t for t in driver.trace if "dry-run" not in t] == [
        "t=101 prune Ingress/old-api (Foreground)",
        "t=101 apply ConfigMap/settings",
        "t=103 prune Deployment/old-api (Foreground)",
        "t=103 apply Service/api",
        "t=107 prune Service/old-api (Foreground)",
        "t=107 apply Deployment/api",
        "t=111 prune ConfigMap/old-settings (Foreground)",
        "t=111 apply Ingress/api",
    ]
    assert outcome(state)["old-settings"] == ("Succeeded", "Pruned", "pruned")


def test_the_dry_run_comes_first_and_covers_everything_but_prunes() -> None:
    driver = Driver().load(manifests("waves", "live"))
    driver.run(start(plan("waves", prune=True)))
    assert driver.trace[:4] == [
        "t=100 dry-run apply ConfigMap/settings",
        "t=100 dry-run apply Service/api",
        "t=100 dry-run apply Deployment/api",
        "t=100 dry-run apply Ingress/api",
    ]


def test_the_next_wave_waits_for_the_wave_delay() -> None:
    state = start(plan("waves"), wave_delay=30)
    driver = Driver()
    state, results, _ = driver.step(state, [])  # dry run
    state, results, wake_at = driver.step(state, results)  # wave -1 applied
    assert wake_at == 130
    assert state.not_before == 130
    driver.now = 129
    state, results, wake_at = driver.step(state, results)
    assert (results, wake_at) == ([], 130)
    assert not any("Service/api" in t and "dry-run" not in t for t in driver.trace)
    driver.now = 130
    state, results, _ = driver.step(state, results)
    assert driver.trace[-1] == "t=130 apply Service/api"


def test_a_single_step_sync_succeeds_once_applied_even_if_unhealthy() -> None:
    driver = Driver(health={"api": [D("crash loop")]})
    state = driver.run(start(plan("kinds")))
    assert state.phase is OperationPhase.SUCCEEDED
    assert state.message == "successfully synced (all tasks run)"
    assert outcome(state)["worker"] == ("Running", "Synced", "deployment/worker configured")


def test_a_degraded_resource_fails_a_multi_step_sync() -> None:
    driver = Driver(health={"api": [P, D("crash loop")]})
    state = driver.run(start(plan("waves")))
    assert state.phase is OperationPhase.FAILED
    assert state.message == "one or more synchronization tasks completed unsuccessfully"
    assert outcome(state)["api"] == ("Failed", "Synced", "crash loop")
    assert not any("Ingress/api" in t and "dry-run" not in t for t in driver.trace)


def test_a_failed_apply_fails_with_the_reason() -> None:
    driver = Driver(fail_apply={"api": 'Service "api" is invalid: spec.ports: Required value'})
    state = driver.run(start(plan("waves")))
    assert state.phase is OperationPhase.FAILED
    assert state.message == (
        'one or more objects failed to apply, reason: Service "api" is invalid: spec.ports: Required value'
    )
    assert outcome(state)["api"][:2] == ("Failed", "SyncFailed")


def test_a_failed_dry_run_applies_nothing() -> None:
    driver = Driver(fail_dry_run={"api": "admission webhook denied the request"})
    state = driver.run(start(plan("waves", prune=True)))
    assert state.phase is OperationPhase.FAILED
    assert state.message == "one or more objects failed to apply (dry run)"
    assert all("dry-run" in t for t in driver.trace)
    assert outcome(state) == {"api": ("Failed", "SyncFailed", "admission webhook denied the request")}


def test_hooks_run_around_the_sync_phase_with_their_delete_policies() -> None:
    driver = Driver(health={"migrate": [P, H], "api": [P, H], "smoke-3f2c1ab-postsync-1700000000": [P, H]})
    driver.slow_delete = {"migrate": 1}
    driver.load(manifests("lifecycle", "live"))
    state = driver.run(start(plan("lifecycle")))
    assert state.phase is OperationPhase.SUCCEEDED
    assert state.message == "successfully synced (no more tasks)"
    assert [t for t in driver.trace if "dry-run" not in t] == [
        "t=101 delete-hook Job/migrate (BeforeHookCreation)",
        "t=103 create-hook Job/migrate",
        "t=106 release Job/migrate",
        "t=106 apply Service/api",
        "t=106 apply Deployment/api",
        "t=109 create-hook Job/smoke-3f2c1ab-postsync-1700000000",
        "t=111 delete-hook Job/smoke-3f2c1ab-postsync-1700000000 (HookSucceeded)",
    ]
    assert outcome(state) == {
        "migrate": ("Succeeded", "Synced", "job/migrate configured"),
        "api": ("Succeeded", "Synced", "deployment/api configured"),
        "smoke-3f2c1ab-postsync-1700000000": (
            "Succeeded",
            "Synced",
            "job/smoke-3f2c1ab-postsync-1700000000 configured",
        ),
    }


def test_a_failing_presync_hook_runs_the_syncfail_hooks_and_fails() -> None:
    driver = Driver(
        health={"migrate": [P, D("Job has reached the specified backoff limit")], "alert": [P, H]}
    )
    driver.load(manifests("lifecycle", "live"))
    state = driver.run(start(plan("lifecycle")))
    assert state.phase is OperationPhase.FAILED
    assert state.message == "one or more synchronization tasks completed unsuccessfully"
    assert [t for t in driver.trace if "dry-run" not in t] == [
        "t=101 delete-hook Job/migrate (BeforeHookCreation)",
        "t=102 create-hook Job/migrate",
        "t=105 delete-hook Job/migrate (HookFailed)",
        "t=105 create-hook Job/alert",
        "t=107 delete-hook Job/alert (HookFailed)",
    ]
    results = outcome(state)
    assert results["migrate"] == ("Failed", "Synced", "Job has reached the specified backoff limit")
    assert results["alert"][0] == "Succeeded"
    assert "api" not in results


def test_a_failing_syncfail_hook_is_named_in_the_message() -> None:
    driver = Driver(health={"migrate": [D("migration failed")], "alert": [D("no webhook")]})
    state = driver.run(start(plan("lifecycle")))
    assert state.message == (
        "one or more synchronization tasks completed unsuccessfully\n"
        "one or more SyncFail hooks failed, reason: no webhook"
    )


def test_a_resource_that_disappears_while_awaited_fails_the_sync() -> None:
    driver = Driver(health={"api": [P]})
    state = start(plan("waves"))
    results: list[ActionResult] = []
    for _ in range(4):
        state, results, wake_at = driver.step(state, results)
        driver.now = max(driver.now + 1, wake_at or 0)
    del driver.live[ResourceKey("", "Service", "shop", "api")]
    state = driver.run(state)
    assert state.phase is OperationPhase.FAILED
    assert outcome(state)["api"] == (
        "Failed",
        "SyncFailed",
        "Resource /Service/api is missing, it might have been deleted",
    )


def test_pruning_waits_for_confirmation() -> None:
    driver = Driver().load(manifests("prune", "live"))
    state = start(plan("prune", prune=True))
    results: list[ActionResult] = []
    for _ in range(6):
        state, results, wake_at = driver.step(state, results)
        driver.now = max(driver.now + 1, wake_at or 0)
    assert state.phase is OperationPhase.RUNNING
    assert state.message == "waiting for pruning confirmation of /Secret/legacy-token"
    assert not any("prune" in t for t in driver.trace)
    driver.confirmed = True
    state = driver.run(state)
    assert state.phase is OperationPhase.SUCCEEDED
    assert [t.split(" ", 1)[1] for t in driver.trace if "prune" in t] == [
        "prune Secret/legacy-token (Foreground)",
        "prune ConfigMap/stale (Foreground)",
        "prune Deployment/legacy (Foreground)",
    ]
    assert outcome(state)["data"] == ("Succeeded", "PruneSkipped", "ignored (no prune)")


def test_pruned_objects_still_being_deleted_hold_the_next_wave() -> None:
    driver = Driver(slow_delete={"old-api": 3}).load(manifests("waves", "live"))
    options = SyncOptions(prune_propagation_policy=PropagationPolicy.BACKGROUND)
    state = driver.run(start(plan("waves", prune=True, options=options)))
    assert state.phase is OperationPhase.SUCCEEDED
    applied = [t for t in driver.trace if "dry-run" not in t]
    assert applied[:3] == [
        "t=101 prune Ingress/old-api (Background)",
        "t=101 apply ConfigMap/settings",
        "t=106 prune Deployment/old-api (Background)",
    ]


def test_prunes_are_only_reported_when_pruning_is_off() -> None:
    driver = Driver().load(manifests("prune", "live"))
    state = driver.run(start(plan("prune")))
    assert state.phase is OperationPhase.SUCCEEDED
    assert not any("prune" in t for t in driver.trace)
    assert {name: r[1:] for name, r in outcome(state).items() if name != "kept"} == {
        "legacy-token": ("PruneSkipped", "ignored (requires pruning)"),
        "stale": ("PruneSkipped", "ignored (requires pruning)"),
        "data": ("PruneSkipped", "ignored (requires pruning)"),
        "legacy": ("PruneSkipped", "ignored (requires pruning)"),
    }


def test_a_dry_run_operation_changes_nothing() -> None:
    driver = Driver().load(manifests("waves", "live"))
    state = driver.run(start(plan("waves", prune=True, dry_run=True)))
    assert state.phase is OperationPhase.SUCCEEDED
    assert state.message == "successfully synced (no more tasks)"
    assert all("dry-run" in t for t in driver.trace)
    results = outcome(state)
    assert results["old-api"] == ("Succeeded", "Pruned", "pruned (dry run)")
    assert results["settings"] == ("Succeeded", "Synced", "configmap/settings configured")


def test_the_missing_namespace_is_created_before_the_dry_run() -> None:
    driver = Driver()
    state = driver.run(
        start(plan("out-of-sync", options=SyncOptions(create_namespace=True), namespace_exists=False))
    )
    assert state.phase is OperationPhase.SUCCEEDED
    assert driver.trace[0] == "t=100 apply Namespace/shop"
    assert driver.trace[1].startswith("t=101 dry-run")


def test_a_namespace_that_cannot_be_created_fails_at_once() -> None:
    driver = Driver(fail_apply={"shop": "namespaces is forbidden"})
    state = driver.run(
        start(plan("out-of-sync", options=SyncOptions(create_namespace=True), namespace_exists=False))
    )
    assert state.phase is OperationPhase.FAILED
    assert state.message == "the namespace failed to apply, reason: namespaces is forbidden"
    assert driver.trace == ["t=100 apply Namespace/shop"]


def test_terminate_deletes_running_hooks() -> None:
    driver = Driver(health={"migrate": [P]})
    state = start(plan("lifecycle"))
    results: list[ActionResult] = []
    for _ in range(3):
        state, results, _ = driver.step(state, results)
        driver.now += 1
    assert state.message == "waiting for completion of hook batch/Job/migrate"
    state = driver.run(request_termination(state), results)
    assert state.phase is OperationPhase.FAILED
    assert state.message == "Operation terminated"
    assert driver.trace[-1] == "t=103 delete-hook Job/migrate (Terminated)"
    assert outcome(state)["migrate"] == ("Failed", "Synced", "Terminated")


def test_lost_results_are_asked_for_again() -> None:
    driver = Driver()
    state = start(plan("waves"))
    state, results, _ = driver.step(state, [])  # the dry run
    state, _, _ = driver.step(state, results)  # wave -1 applied, but the driver dies before reporting
    assert driver.trace[-1] == "t=100 apply ConfigMap/settings"
    state, results, _ = driver.step(state, [])
    assert driver.trace[-2:] == ["t=100 apply ConfigMap/settings"] * 2
    state = driver.run(state, results)
    assert state.phase is OperationPhase.SUCCEEDED


def test_a_failed_prune_stops_its_wave() -> None:
    driver = Driver(fail_delete={"old-api": "ingresses.networking.k8s.io is forbidden"})
    driver.load(manifests("waves", "live"))
    state = driver.run(start(plan("waves", prune=True)))
    assert state.phase is OperationPhase.FAILED
    assert (
        state.message
        == "one or more objects failed to apply, reason: ingresses.networking.k8s.io is forbidden"
    )
    assert [t for t in driver.trace if "dry-run" not in t] == ["t=101 prune Ingress/old-api (Foreground)"]
    assert "settings" not in outcome(state)


def test_an_operation_resumes_from_json_to_the_same_end() -> None:
    def scenario() -> Driver:
        driver = Driver(
            health={"migrate": [P, H], "api": [P, P, H], "smoke-3f2c1ab-postsync-1700000000": [P, H]}
        )
        return driver.load(manifests("lifecycle", "live"))

    straight, resumed = scenario(), scenario()
    end = straight.run(start(plan("lifecycle")))
    again = resumed.run(start(plan("lifecycle")), json_every_step=True)
    assert again == end
    assert resumed.trace == straight.trace


def test_a_state_stored_mid_operation_resumes_in_a_new_driver() -> None:
    first = Driver(health={"api": [P, H]})
    state = start(plan("waves"))
    results: list[ActionResult] = []
    for _ in range(3):
        state, results, wake_at = first.step(state, results)
        first.now = max(first.now + 1, wake_at or 0)
    stored = state.to_json()
    assert state.phase is OperationPhase.RUNNING and state.wave is not None
    second = Driver(health={"api": [P, H]}, live=first.live, now=first.now, seen=first.seen)
    end = second.run(OperationState.from_json(stored))
    reference = Driver(health={"api": [P, H]})
    expected = reference.run(start(plan("waves")))
    assert end.phase is OperationPhase.SUCCEEDED
    assert outcome(end) == outcome(expected)


def test_decide_leaves_a_finished_operation_alone() -> None:
    state = Driver().run(start(plan("kinds")))
    decision = decide(state, Observations(now=1e9))
    assert decision.state is state
    assert decision.actions == ()


def test_watched_keys_cover_running_tasks() -> None:
    driver = Driver(health={"api": [P]})
    state = start(plan("waves"))
    state, results, _ = driver.step(state, [])
    state, results, _ = driver.step(state, results)
    assert watched(state) == {ResourceKey("", "ConfigMap", "shop", "settings")}
    assert {r.key.name: r.hook_phase for r in state.results()} == {"old-api": TaskStatus.SUCCEEDED}
    state, results, _ = driver.step(state, results)
    assert watched(state) == {ResourceKey("", "ConfigMap", "shop", "settings")}
    assert {r.key.name: r.hook_phase for r in state.results()} == {
        "old-api": TaskStatus.SUCCEEDED,
        "settings": TaskStatus.RUNNING,
    }


def test_results_carry_hook_types_and_phases() -> None:
    driver = Driver(health={"migrate": [H], "smoke-3f2c1ab-postsync-1700000000": [H]})
    state = driver.run(start(plan("lifecycle")))
    by_name = {r.key.name: r for r in state.results()}
    assert str(by_name["migrate"].hook_type) == "PreSync"
    assert by_name["api"].hook_type is None
    assert by_name["api"].status is ResultCode.SYNCED


@pytest.mark.parametrize("delay", [0.0, 2.0, 7.5])
def test_wave_delay_is_configurable(delay: float) -> None:
    driver = Driver()
    state = start(plan("waves"), wave_delay=delay)
    state, results, _ = driver.step(state, [])
    _, _, wake_at = driver.step(state, results)
    assert wake_at == driver.now + delay


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "m"},
                "status": {"conditions": [{"type": "Complete"}]},
            },
            LiveObservation(health=H),
        ),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, LiveObservation(health=None)),
        (
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c", "deletionTimestamp": "2024-05-01T10:00:00Z"},
            },
            LiveObservation(health=HealthResult(HealthStatus.PROGRESSING, "Pending deletion"), deleting=True),
        ),
    ],
    ids=["completed-job", "no-health-rule", "being-deleted"],
)
def test_live_observations_come_from_the_health_rules(manifest: Manifest, expected: LiveObservation) -> None:
    assert LiveObservation.of(manifest) == expected


def test_termination_of_a_finished_operation_changes_nothing() -> None:
    state = Driver().run(start(plan("kinds")))
    assert request_termination(state) is state
    running = start(plan("kinds"))
    assert request_termination(running).phase is OperationPhase.TERMINATING
