"""Repository URLs: the one normal form used to tell whether two URLs name the same repository.

The rules follow Argo CD's ``NormalizeGitURL`` / ``SameURL`` (util/git): case-insensitive as a whole,
surrounding blanks ignored, the scp-like SSH form ``git@host:org/repo`` equal to
``ssh://git@host/org/repo``, a trailing ``.git`` ignored. An SSH URL and an HTTPS URL of the same
repository are *different* repositories here, as in Argo CD (they may need different credentials).
On top of Argo CD: trailing slashes are ignored, default ports (443, 80, 22) are dropped, and the
user information of HTTP(S) URLs (``https://user:token@host/...``) never enters the normal form.

:func:`web_url_pattern` is the looser rule Argo CD applies to webhook payloads (``GetWebURLRegex``):
any scheme, user, ``ssh.``/``altssh.`` host prefix and port matches the repository a push named.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

#: ``user@host:path`` or ``ssh://user@host/path``: a user before the host and no second ``@``.
_SSH_URL = re.compile(r"^(ssh://)?[^/:]*?@[^@]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22}
_UNSAFE_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")


def is_ssh_url(url: str) -> bool:
    """Whether ``url`` is an SSH URL (``git@host:org/repo`` or ``ssh://git@host/org/repo``)."""
    return bool(_SSH_URL.match(url.strip()))


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an ``http://`` or ``https://`` URL."""
    return url.strip().lower().startswith(("http://", "https://"))


def _to_ssh_scheme(url: str) -> str:
    """``git@host:org/repo`` as ``ssh://git@host/org/repo`` (already ``ssh://`` URLs unchanged)."""
    if url.startswith("ssh://"):
        return url
    return "ssh://" + url.replace(":", "/", 1)


def _strip_path(path: str) -> str:
    path = path.rstrip("/")
    return path.removesuffix(".git").rstrip("/")


def _netloc(parts: SplitResult, *, keep_user: bool) -> str:
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port  # raises ValueError for a bad port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    if keep_user and parts.username is not None:
        return f"{parts.username}@{host}"
    return host


def normalize_git_url(url: str) -> str:
    """The normal form of a repository URL, for comparing and keying; ``""`` if it is not a URL.

    ``https://GitHub.com/Org/Repo.git/`` -> ``https://github.com/org/repo``;
    ``git@github.com:org/repo.git`` and ``ssh://git@github.com:22/org/repo`` -> ``git@github.com/org/repo``.
    """
    text = url.strip().lower()
    if not text:
        return ""
    ssh = is_ssh_url(text)
    if ssh:
        text = _to_ssh_scheme(text)
    try:
        parts = urlsplit(text)
        if parts.scheme in ("http", "https", "ssh"):
            netloc = _netloc(parts, keep_user=parts.scheme == "ssh")
        else:
            netloc = parts.netloc
    except ValueError:
        return ""
    normal = urlunsplit((parts.scheme, netloc, _strip_path(parts.path), parts.query, parts.fragment))
    return normal.removeprefix("ssh://") if ssh or parts.scheme == "ssh" else normal


def same_repo_url(left: str, right: str) -> bool:
    """Whether two URLs name the same repository (Argo CD's ``SameURL``)."""
    a, b = normalize_git_url(left), normalize_git_url(right)
    return a != "" and a == b


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``https://user:pass@host/repo`` -> (``https://host/repo``, user, pass), decoded.

    Only HTTP(S) URLs carry credentials this way; any other URL comes back unchanged with ``None``s
    (the user of an SSH URL is part of its address, not a secret).
    """
    if not is_http_url(url):
        return url, None, None
    try:
        parts = urlsplit(url.strip())
        if parts.username is None and parts.password is None:
            return url.strip(), None, None
        user = unquote(parts.username or "")
        password = None if parts.password is None else unquote(parts.password)
    except ValueError:
        return url, None, None
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc)), user, password


def redact_url(url: str) -> str:
    """``url`` without HTTP(S) user information, fit for messages and logs."""
    return split_userinfo(url)[0]


_USERINFO_IN_TEXT = re.compile(r"(?i)\b(https?://)[^/\s@]+@")


def redact_urls_in(text: str) -> str:
    """Every ``http(s)://user:pass@`` in free text (a git error message) as ``http(s)://***@``."""
    return _USERINFO_IN_TEXT.sub(r"\1***@", text)


def mirror_dir_name(url: str) -> str:
    """A directory name for the mirror of ``url``: readable host and path, and a hash of the normal
    form so that URLs of the same repository share one directory and no two repositories collide."""
    normal = normalize_git_url(url) or url.strip()
    digest = hashlib.sha256(normal.encode()).hexdigest()[:12]
    authority, sep, path = normal.split("://", 1)[-1].partition("/")
    readable = authority.rpartition("@")[2] + sep + path  # host and path, not the user
    readable = _UNSAFE_NAME_CHARS.sub("_", readable).strip("._-")[:80] or "repo"
    return f"{readable}-{digest}"


def _web_url_regex(host: str, path: str) -> str:
    return (
        r"^(?:(?:https?|ssh)://)?"  # any scheme, or none (scp-like)
        r"(?:[^@/:\s]+@)?"  # any user
        r"(?:(?:alt)?ssh\.)?"  # GitHub's and GitLab's ssh./altssh. host names
        + re.escape(host)
        + r"(?::\d+)?[:/]"  # any port; ':' of scp-like URLs or '/'
        + re.escape(path)
        + r"(?:\.git)?/?$"
    )


def web_url_pattern(web_url: str) -> re.Pattern[str]:
    """A pattern matching every repository URL that names the repository behind ``web_url`` (the web
    page of a repository, as a push webhook's payload gives it): HTTPS, HTTP and SSH forms, with or
    without a user, port or ``.git``, case-insensitively. A URL without a host yields a pattern
    that matches nothing."""
    try:
        parts = urlsplit(web_url.strip())
        host = parts.hostname or ""
    except ValueError:
        host = ""
    if not host:
        return re.compile(r"(?!)")
    path = _strip_path(parts.path).lstrip("/")
    return re.compile(_web_url_regex(host, path), re.IGNORECASE)


def matches_web_url(web_url: str, repo_url: str) -> bool:
    """Whether the Application source ``repo_url`` is the repository a webhook named by ``web_url``."""
    return web_url_pattern(web_url).match(repo_url.strip()) is not None
