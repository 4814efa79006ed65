"""Image references and the ``NAME=REF`` argument of an image handoff.

A reference is split the way kustomize splits one (``util.SplitImageName``): the tag and digest are
looked for after the first ``/``, so a registry's ``host:port`` stays part of the name
(``registry.local:5000/team/app:v2`` is name ``registry.local:5000/team/app``, tag ``v2``).

``NAME=REF`` says which image to change and what it becomes: ``NAME`` is an image name (as written
in the file, without tag or digest) or a Flux image policy ``namespace:name``; ``REF`` is the new
reference. Without ``NAME=`` the name is the name part of ``REF`` (``app:v2`` changes image ``app``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitloop.errors import UsageError
from gitloop.model.images import split_image

__all__ = ["ImageRef", "ImageUpdate", "parse_image_update", "parse_reference", "split_image"]

#: What a reference may hold: registry, path, tag and digest characters, and kustomize's ``*``.
_REFERENCE = re.compile(r"[A-Za-z0-9._/:@+*-]+")
_NAME = re.compile(r"[A-Za-z0-9._/:@+-]+")
#: Kustomize's rule for a tag: alphanumerics, ``.``, ``_`` and ``-`` (or ``*``: keep the old one).
_TAG = re.compile(r"[A-Za-z0-9._-]{1,128}|\*")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Za-z=_-]{8,}|\*")


@dataclass(frozen=True)
class ImageRef:
    """An image reference in parts: ``name[:tag][@digest]``."""

    name: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def keeps_any(self) -> bool:
        """Whether a part is kustomize's ``*`` (keep the value the kustomization has)."""
        return "*" in (self.name, self.tag, self.digest)


def parse_reference(text: str, *, what: str = "image reference") -> ImageRef:
    """``text`` as an :class:`ImageRef`; ``UsageError`` naming ``what`` when it is not one."""
    ref = text.strip()
    if not ref or not _REFERENCE.fullmatch(ref):
        raise UsageError(f"{what} {text!r} is not an image reference (name[:tag][@digest])")
    name, tag, digest = split_image(ref)
    if not name or name.startswith(("/", ":", "@", ".", "-")) or name.endswith("/"):
        raise UsageError(f"{what} {text!r} has no image name")
    if ("*" in name and name != "*") or (tag and not _TAG.fullmatch(tag)):
        raise UsageError(f"{what} {text!r}: invalid tag {tag!r} or name {name!r}")
    if digest and not _DIGEST.fullmatch(digest):
        raise UsageError(f"{what} {text!r}: invalid digest {digest!r} (expected algorithm:hex)")
    if ref.count("@") > 1 or ":" in tag:
        raise UsageError(f"{what} {text!r} is not an image reference (name[:tag][@digest])")
    return ImageRef(name, tag, digest)


@dataclass(frozen=True)
class ImageUpdate:
    """One ``NAME=REF``: ``name`` selects what to change, ``ref`` is the new reference.

    ``explicit`` says whether ``NAME=`` was given; without it ``name`` is the name part of ``ref``.
    """

    name: str
    ref: ImageRef
    explicit: bool = True

    def __str__(self) -> str:
        return f"{self.name}={self.ref}" if self.explicit else str(self.ref)

    @property
    def reference(self) -> str:
        """The new reference as text."""
        return str(self.ref)


def parse_image_update(arg: str) -> ImageUpdate:
    """``NAME=REF`` or ``REF`` (kustomize's forms: ``app=registry/app:v2``, ``app:v2``, ``app@sha256:...``)."""
    text = arg.strip()
    key, sep, value = text.partition("=")
    if not sep:
        ref = parse_reference(text, what="--image")
        if ref.name == "*":
            raise UsageError(f"--image {arg!r}: '*' keeps a kustomization's name and needs NAME=")
        return ImageUpdate(ref.name, ref, explicit=False)
    name = key.strip()
    if not name or not _NAME.fullmatch(name):
        raise UsageError(f"--image {arg!r}: NAME must be an image name or a policy namespace:name")
    return ImageUpdate(name, parse_reference(value, what="--image"), explicit=True)
