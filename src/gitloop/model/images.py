"""Container image references split as kustomize and Flux split them: ``name[:tag][@digest]``."""

from __future__ import annotations


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
