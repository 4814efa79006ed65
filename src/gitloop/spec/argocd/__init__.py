"""Argo CD's ``argoproj.io/v1alpha1`` Application and AppProject, read into frozen dataclasses.

``load_apps(paths)`` / ``parse_apps_text(text)`` return an ``AppSet``; invalid documents raise
``SpecError`` naming ``file:line``, ``Kind/name`` and the field path, as Argo CD's CRD validation
would refuse them. ``project_problems`` applies an AppProject's source and destination rules.
"""

from __future__ import annotations

from gitloop.spec.argocd.application import (
    API_VERSION,
    IN_CLUSTER,
    Application,
    Automated,
    Backoff,
    Destination,
    IgnoreDifference,
    Retry,
    SyncPolicy,
)
from gitloop.spec.argocd.documents import AppSet, load_apps, parse_apps_text, parse_document, project_problems
from gitloop.spec.argocd.project import DEFAULT_PROJECT, AppProject, GroupKind, ProjectDestination
from gitloop.spec.argocd.source import (
    ApplicationSource,
    DirectoryOptions,
    HelmOptions,
    HelmParameter,
    KustomizeOptions,
    source_from_raw,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_PROJECT",
    "IN_CLUSTER",
    "AppProject",
    "AppSet",
    "Application",
    "ApplicationSource",
    "Automated",
    "Backoff",
    "Destination",
    "DirectoryOptions",
    "GroupKind",
    "HelmOptions",
    "HelmParameter",
    "IgnoreDifference",
    "KustomizeOptions",
    "ProjectDestination",
    "Retry",
    "SyncPolicy",
    "load_apps",
    "parse_apps_text",
    "parse_document",
    "project_problems",
    "source_from_raw",
]
