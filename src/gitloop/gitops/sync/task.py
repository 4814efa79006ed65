"""One sync task: one object, in one phase and wave, with the action to perform on it.

A task is plain data and converts to and from JSON-compatible dicts, so a planned operation can be
stored and resumed. Its ``id`` (phase and resource identity) is unique within a plan, like
gitops-engine's result key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitloop.gitops.sync.types import HookDeletePolicy, HookType, SyncPhase, TaskAction
from gitloop.model.resources import Manifest, ResourceKey


@dataclass(frozen=True)
class SyncTask:
    """What to do with one object in one phase and wave of a sync."""

    phase: SyncPhase
    wave: int
    key: ResourceKey
    api_version: str
    action: TaskAction
    manifest: Manifest | None = None
    """The desired object (with its final name and namespace); ``None`` for a prune."""
    hook: bool = False
    delete_policies: tuple[HookDeletePolicy, ...] = ()
    """A hook's delete policies; empty for resources."""
    live: bool = False
    """Whether a live object existed when the sync was planned."""
    server_side_apply: bool = False
    validate: bool = True
    force: bool = False
    skip_dry_run: bool = False
    """Skip the dry run when the server does not know the kind (yet)."""
    prune_confirm: bool = False
    """A prune that waits for the user's confirmation (``Prune=confirm``)."""
    message: str = ""
    """Why a SKIP task is skipped."""

    @property
    def id(self) -> str:
        """``Phase:group/Kind/namespace/name``, unique within a plan."""
        k = self.key
        return f"{self.phase.value}:{k.group}/{k.kind}/{k.namespace}/{k.name}"

    @property
    def is_prune(self) -> bool:
        return self.action in (TaskAction.PRUNE, TaskAction.SKIP)

    @property
    def hook_type(self) -> HookType | None:
        """The hook type this task runs as (its phase); ``None`` for resources."""
        return HookType(self.phase.value) if self.hook else None

    def deletes_on(self, policy: HookDeletePolicy) -> bool:
        return self.hook and policy in self.delete_policies

    def describe(self) -> str:
        """``group/Kind/name``, the way Argo CD names a task in operation messages."""
        return f"{self.key.group}/{self.key.kind}/{self.key.name}"

    def to_dict(self) -> dict[str, Any]:
        k = self.key
        return {
            "phase": self.phase.value,
            "wave": self.wave,
            "key": {"group": k.group, "kind": k.kind, "namespace": k.namespace, "name": k.name},
            "apiVersion": self.api_version,
            "action": self.action.value,
            "manifest": self.manifest,
            "hook": self.hook,
            "deletePolicies": [p.value for p in self.delete_policies],
            "live": self.live,
            "serverSideApply": self.server_side_apply,
            "validate": self.validate,
            "force": self.force,
            "skipDryRun": self.skip_dry_run,
            "pruneConfirm": self.prune_confirm,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncTask:
        k = data["key"]
        return cls(
            phase=SyncPhase(data["phase"]),
            wave=int(data["wave"]),
            key=ResourceKey(k["group"], k["kind"], k["namespace"], k["name"]),
            api_version=data["apiVersion"],
            action=TaskAction(data["action"]),
            manifest=data["manifest"],
            hook=bool(data["hook"]),
            delete_policies=tuple(HookDeletePolicy(p) for p in data["deletePolicies"]),
            live=bool(data["live"]),
            server_side_apply=bool(data["serverSideApply"]),
            validate=bool(data["validate"]),
            force=bool(data["force"]),
            skip_dry_run=bool(data["skipDryRun"]),
            prune_confirm=bool(data["pruneConfirm"]),
            message=str(data["message"]),
        )
