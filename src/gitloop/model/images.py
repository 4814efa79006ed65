"""Container images: references split as kustomize and Flux split them (``name[:tag][@digest]``), and
the images a set of manifests runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitloop.model.resources import Manifest


def split_image(reference: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference, ``""`` for a part it lacks; a registry's
    ``host:port`` before the first ``/`` stays part of the name."""
    slash = reference.find("/")
    offset = slash if slash > 0 else 0
    rest = reference[offset:]
    at, colon = rest.find("@"), rest.find(":")
    if at < 0 and colon < 0:
        return reference, "", ""
    if at >= 0 and (colon < 0 or at < colon):
        return reference[: offset + at], "", reference[offset + at + 1 :]
    if at >= 0:
        return (
            reference[: offset + colon],
            reference[offset + colon + 1 : offset + at],
            reference[offset + at + 1 :],
        )
    return reference[: offset + colon], reference[offset + colon + 1 :], ""


def images_in(manifests: Iterable[Manifest]) -> tuple[str, ...]:
    """Every container image of the pod templates (and Pods) in ``manifests``, sorted, once each."""
    found: set[str] = set()
    for manifest in manifests:
        spec = manifest.get("spec")
        pods: list[dict[str, Any]] = (
            [spec] if manifest.get("kind") == "Pod" and isinstance(spec, dict) else []
        )
        while isinstance(spec, dict):
            template = spec.get("template") or spec.get("jobTemplate")
            if not isinstance(template, dict):
                break
            spec = template.get("spec")
            if isinstance(spec, dict) and ("containers" in spec or "initContainers" in spec):
                pods.append(spec)
        for pod in pods:
            for key in ("initContainers", "containers"):
                containers = pod.get(key)
                for container in containers if isinstance(containers, list) else ():
                    if isinstance(container, dict) and container.get("image"):
                        found.add(str(container["image"]))
    return tuple(sorted(found))
