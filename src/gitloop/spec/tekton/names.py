"""The name formats Tekton and Kubernetes accept, as predicates with the reason they fail."""

from __future__ import annotations

import re

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
PARAM_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.-]*")
"""String and array param names: letters, digits, ``-``, ``_`` and ``.``, starting with a letter or ``_``."""
OBJECT_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")
"""Object param names and their keys: like ``PARAM_NAME`` without dots."""
RESULT_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
"""Result names: alphanumeric, ``-``, ``_``, ``.``, starting and ending alphanumeric."""


def dns1123_label_problem(name: str) -> str | None:
    """Why ``name`` is not a DNS-1123 label (lower case, digits and ``-``, at most 63), or ``None``."""
    if not name:
        return "must not be empty"
    if len(name) > 63:
        return f"{name!r} is longer than 63 characters"
    if not _DNS1123_LABEL.fullmatch(name):
        return (
            f"{name!r} is not a valid DNS label (lower case letters, digits and '-', "
            "starting and ending with a letter or digit)"
        )
    return None


def dns1123_subdomain_problem(name: str) -> str | None:
    """Why ``name`` is not a DNS-1123 subdomain (dot-separated labels, at most 253), or ``None``."""
    if not name:
        return "must not be empty"
    if len(name) > 253:
        return f"{name!r} is longer than 253 characters"
    if not all(_DNS1123_LABEL.fullmatch(part) for part in name.split(".")):
        return f"{name!r} is not a valid DNS subdomain (lower case letters, digits, '-' and '.')"
    return None


def resource_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a Tekton object (DNS subdomain of at most 63 characters), or ``None``."""
    problem = dns1123_subdomain_problem(name)
    if problem is None and len(name) > 63:
        problem = f"{name!r} is longer than 63 characters"
    return problem


def qualified_name_problem(name: str) -> str | None:
    """Why ``name`` is not a Kubernetes qualified name (an optional ``prefix/`` and a name), or ``None``."""
    prefix, _, base = name.rpartition("/")
    if prefix and dns1123_subdomain_problem(prefix):
        return f"{name!r} has a prefix that is not a DNS subdomain"
    if not base or len(base) > 63 or not _QUALIFIED_NAME.fullmatch(base):
        return (
            f"{name!r} is not a qualified name (alphanumeric characters, '-', '_' or '.', "
            "starting and ending with an alphanumeric character)"
        )
    return None


_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def config_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a key of a ConfigMap's or Secret's data (a file name when the object is
    mounted): letters, digits, ``-``, ``_`` and ``.``, at most 253, not ``.`` or ``..``; or ``None``."""
    if not key:
        return "must not be empty"
    if len(key) > 253:
        return f"{key!r} is longer than 253 characters"
    if not _CONFIG_KEY.fullmatch(key):
        return f"{key!r} is not a valid key (letters, digits, '-', '_' and '.')"
    if key in (".", ".."):
        return f"{key!r} is not a valid key"
    return None


def local_path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a place inside a volume (a ``subPath``, an ``items[].path``), as the
    Kubernetes API server checks it: relative, with no ``..`` component; or ``None``."""
    if path.startswith("/"):
        return f"{path!r} must be a relative path"
    if ".." in path.split("/"):
        return f"{path!r} must not contain '..'"
    if "\0" in path:
        return f"{path!r} must not contain a NUL character"
    return None


def generate_name_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot start generated names (a DNS subdomain once a trailing ``-`` is masked,
    as the API server checks ``generateName``), or ``None``."""
    masked = prefix[:-1] + "a" if prefix.endswith("-") else prefix
    problem = dns1123_subdomain_problem(masked)
    return f"{prefix!r} cannot start a DNS subdomain name" if problem else None
