"""``UnsealingRenderer``: the ``Renderer`` port wrapped so that Applications' SealedSecrets arrive as
the Secrets they describe, as the sealed-secrets controller would make them in the cluster.

Every ``bitnami.com/v1alpha1`` ``SealedSecret`` a source renders is replaced by the ``v1`` Secret
``gitloop.sealing.unseal`` returns — in the SealedSecret's namespace, else the Application's destination
namespace — annotated ``gitloop.dev/sealed-from: SealedSecret/<name>``. From there on it is a Secret
like any other: diffed masked, applied, pruned. A SealedSecret that cannot be unsealed is a
``SealingError`` (a ``SpecError``) naming the object, the field and the reason, never a value: the
comparison fails with a ``ComparisonError`` and nothing of that Application is applied.

The keys are asked for (``keys``) only when a SealedSecret is rendered; a key ring that cannot be read
is a ``SealingError`` too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitloop.errors import GitloopError, SealingError
from gitloop.model.resources import Manifest
from gitloop.ports import Renderer
from gitloop.sealing import SealingKey, unseal

SEALED_API_VERSION = "bitnami.com/v1alpha1"
SEALED_KIND = "SealedSecret"
SEALED_FROM = "gitloop.dev/sealed-from"


def is_sealed(manifest: Manifest) -> bool:
    return manifest.get("apiVersion") == SEALED_API_VERSION and manifest.get("kind") == SEALED_KIND


def unseal_manifests(
    manifests: Sequence[Manifest], keys: Callable[[], Sequence[SealingKey]], *, namespace: str
) -> list[Manifest]:
    """``manifests`` with every SealedSecret replaced by its Secret (other objects untouched, in order)."""
    ring: Sequence[SealingKey] | None = None
    out: list[Manifest] = []
    for manifest in manifests:
        if not is_sealed(manifest):
            out.append(manifest)
            continue
        meta = manifest.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        name = str(meta.get("name") or "")
        target = str(meta.get("namespace") or namespace or "default")
        if ring is None:
            try:
                ring = list(keys())
            except SealingError:
                raise
            except GitloopError as exc:
                raise SealingError(
                    f"the sealing keys cannot be read: {exc}", obj=f"SealedSecret/{target}/{name}"
                ) from exc
        secret = unseal(manifest, ring, namespace=target)
        secret_meta: dict[str, Any] = dict(secret.get("metadata") or {})
        secret_meta["namespace"] = target
        secret_meta["annotations"] = {
            **dict(secret_meta.get("annotations") or {}),
            SEALED_FROM: f"{SEALED_KIND}/{name}",
        }
        out.append({**secret, "metadata": secret_meta})
    return out


class UnsealingRenderer:
    """A ``Renderer`` whose output has its SealedSecrets unsealed with the keys ``keys`` gives."""

    def __init__(self, renderer: Renderer, keys: Callable[[], Sequence[SealingKey]]) -> None:
        self._renderer = renderer
        self._keys = keys

    def render(
        self,
        root: Path,
        source: dict[str, Any],
        *,
        app_name: str,
        namespace: str,
        revision: str = "",
        project: str = "",
        refs: Mapping[str, Path] | None = None,
    ) -> list[Manifest]:
        manifests = self._renderer.render(
            root,
            source,
            app_name=app_name,
            namespace=namespace,
            revision=revision,
            project=project,
            refs=refs,
        )
        return unseal_manifests(manifests, self._keys, namespace=namespace)
