"""Repository credentials, and how they reach ``git`` without leaking.

Credentials are matched to repository URLs the way Argo CD matches repo-creds: the entry whose
(normalised) URL is the longest prefix of the repository's normalised URL wins, so an entry for one
repository beats an entry for its organisation. Prefixes end at a path segment here (an entry for
``https://host/org`` does not match ``https://host/organisation/x``), which Argo CD does not check.

A secret never appears on a command line, in a URL or file written to disk, in a log record or in an
error message:

* HTTPS: the username and password travel in the environment of the one ``git`` process
  (``GITLOOP_GIT_USERNAME``/``GITLOOP_GIT_PASSWORD``, readable only by the same user) and reach git
  through a credential helper given as configuration *in the environment* (``GIT_CONFIG_COUNT``):
  a shell function that prints them when git asks (after an HTTP 401), scoped to the repository's
  scheme, host and port, so a redirect to another host never gets them. The helper list is reset
  first, so no helper of the user's (``store``, a keychain) ever receives, and stores, them.
* SSH: ``GIT_SSH_COMMAND`` runs ``ssh -i <key file> -o IdentitiesOnly=yes -o BatchMode=yes`` with a
  known-hosts file; a key given as text is written to a 0600 file in a 0700 temporary directory
  that is removed when the git command ends.
* Whatever git prints passes through a :class:`Scrubber` that blanks every secret (and its
  URL-encoded and Basic-auth forms) before it reaches a message or a log.
"""

from __future__ import annotations

import base64
import shlex
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, urlsplit

from gitloop.errors import UsageError
from gitloop.git.urls import is_http_url, normalize_git_url

USERNAME_ENV = "GITLOOP_GIT_USERNAME"
PASSWORD_ENV = "GITLOOP_GIT_PASSWORD"  # noqa: S105 - the name of a variable, not a password
REDACTED = "***"

#: The credential helper: prints the pair for ``get``; ignores ``store`` and ``erase``.
CREDENTIAL_HELPER = (
    "!f() { if test \"$1\" = get; then printf 'username=%s\\npassword=%s\\n' "
    f'"${USERNAME_ENV}" "${PASSWORD_ENV}"; fi; }}; f'
)


@dataclass(frozen=True)
class HttpsCredentials:
    """A username and a password or token for HTTP(S) basic auth. Never shown in a repr."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if any(c in value for value in (self.username, self.password) for c in "\n\r\0"):
            raise UsageError("git credentials must not contain line breaks or NUL characters")

    def secrets(self) -> list[str]:
        """What must never be shown: the password, and the username when it is the token."""
        return [self.password] if self.password else [self.username]


@dataclass(frozen=True)
class SshCredentials:
    """An SSH private key, as text (``private_key``, Argo CD's ``sshPrivateKey``) or as a file.

    With ``known_hosts_file`` the host key must be listed there (``StrictHostKeyChecking=yes``);
    without it, a host seen for the first time is trusted and remembered (``accept-new``) in the
    known-hosts file the caller keeps (the mirror cache keeps one).
    """

    private_key: str | None = field(default=None, repr=False)
    private_key_file: Path | None = None
    known_hosts_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.private_key is None) == (self.private_key_file is None):
            raise UsageError("SSH credentials need exactly one of private_key and private_key_file")

    def secrets(self) -> list[str]:
        return [self.private_key.strip()] if self.private_key else []


Credentials = HttpsCredentials | SshCredentials


@dataclass(frozen=True)
class RepoCreds:
    """Credentials for one repository, or for every repository under a URL prefix."""

    url: str
    credentials: Credentials


def _prefix_matches(prefix: str, url: str) -> bool:
    if not prefix:
        return False
    return url == prefix or url.startswith(prefix if prefix.endswith(("/", ":")) else prefix + "/")


class RepoCredentials:
    """A table of :class:`RepoCreds`, safe to read and replace from several threads."""

    def __init__(self, entries: Iterable[RepoCreds] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: tuple[tuple[str, RepoCreds], ...] = ()
        self.replace(entries)

    def replace(self, entries: Iterable[RepoCreds]) -> None:
        """Swap the whole table (credentials rotated, Secrets changed)."""
        keyed = tuple((normalize_git_url(e.url), e) for e in entries)
        with self._lock:
            self._entries = keyed

    def lookup(self, url: str) -> Credentials | None:
        """The credentials of the longest matching prefix of ``url``, or ``None``."""
        normal = normalize_git_url(url)
        with self._lock:
            entries = self._entries
        best: RepoCreds | None = None
        best_len = -1
        for prefix, entry in entries:
            if _prefix_matches(prefix, normal) and len(prefix) > best_len:
                best, best_len = entry, len(prefix)
        return None if best is None else best.credentials

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"RepoCredentials({[e.url for _, e in self._entries]!r})"


def credentials_from_store(text: str, url: str) -> HttpsCredentials | None:
    """The entry of a git-credentials store file (``git credential-store``: one
    ``scheme://user:password@host[:port][/path]`` per line, percent-encoded) that serves ``url``:
    same scheme, host and port, and the longest path that is a prefix of the repository's, as
    :class:`RepoCredentials` matches. ``None`` when no line does."""
    entries: list[RepoCreds] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            parts = urlsplit(line)
            port = parts.port
        except ValueError:
            continue
        if not parts.username or parts.password is None or not parts.hostname:
            continue
        host = f"{parts.hostname}:{port}" if port else parts.hostname
        where = f"{parts.scheme}://{host}{parts.path}"
        entries.append(RepoCreds(where, HttpsCredentials(unquote(parts.username), unquote(parts.password))))
    found = RepoCredentials(entries).lookup(url)
    return found if isinstance(found, HttpsCredentials) else None


class Scrubber:
    """Blanks secrets out of text: each secret as given, URL-encoded (path, component and form
    encodings), and inside a Basic ``Authorization`` header."""

    def __init__(self, secrets: Iterable[str] = (), *, basic: HttpsCredentials | None = None) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.update({secret, quote(secret, safe=""), quote(secret), quote_plus(secret)})
        if basic is not None:
            pair = f"{basic.username}:{basic.password}".encode()
            forms.add(base64.b64encode(pair).decode())
        # Longest first, so a secret containing another is blanked whole.
        self._forms = sorted((f for f in forms if f), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text


@dataclass(frozen=True)
class GitAuth:
    """What one git command needs for its credentials: environment entries and a scrubber."""

    env: dict[str, str]
    scrub: Scrubber


def _config_env(entries: list[tuple[str, str]]) -> dict[str, str]:
    env = {"GIT_CONFIG_COUNT": str(len(entries))}
    for i, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def credential_scope(url: str) -> str | None:
    """``scheme://host[:port]`` of an HTTP(S) URL: where its credential helper applies."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or parts.scheme.lower() not in ("http", "https"):
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def _ssh_option_value(path: Path) -> str:
    text = str(path)
    if '"' in text or "\n" in text:
        raise UsageError(f"unusable path for ssh: {text!r}")
    return f'"{text}"' if any(c.isspace() for c in text) else text


def ssh_command(key_file: Path, *, known_hosts: Path | None, strict: bool) -> str:
    """The ``GIT_SSH_COMMAND`` for one key: that key only, never a prompt, a known-hosts policy."""
    parts = ["ssh", "-i", str(key_file), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
    parts += ["-o", f"StrictHostKeyChecking={'yes' if strict else 'accept-new'}"]
    if known_hosts is not None:
        parts += ["-o", f"UserKnownHostsFile={_ssh_option_value(known_hosts)}"]
    return shlex.join(parts)


@contextmanager
def git_auth(
    url: str, credentials: Credentials | None, *, known_hosts: Path | None = None
) -> Iterator[GitAuth]:
    """The environment entries that give one git command talking to ``url`` its credentials.

    The configuration always resets ``credential.helper``, so git asks no helper of the user's.
    ``known_hosts`` is where SSH remembers new host keys when the credentials name no file.
    Files made for the command (an SSH key given as text) are removed on exit.
    """
    config: list[tuple[str, str]] = [("credential.helper", "")]
    env: dict[str, str] = {}
    scrub = Scrubber()
    key_dir: str | None = None
    try:
        if isinstance(credentials, HttpsCredentials):
            scope = credential_scope(url) if is_http_url(url) else None
            if scope is not None:
                config.append((f"credential.{scope}.helper", CREDENTIAL_HELPER))
                env[USERNAME_ENV] = credentials.username
                env[PASSWORD_ENV] = credentials.password
            scrub = Scrubber(credentials.secrets(), basic=credentials)
        elif isinstance(credentials, SshCredentials):
            key_file = credentials.private_key_file
            if credentials.private_key is not None:
                key_dir = tempfile.mkdtemp(prefix="gitloop-ssh-")  # mode 0700
                key_file = Path(key_dir) / "id"
                key_file.touch(mode=0o600)
                key_file.write_text(credentials.private_key.strip() + "\n")
            assert key_file is not None
            strict = credentials.known_hosts_file is not None
            hosts = credentials.known_hosts_file or known_hosts
            if hosts is not None and not strict:
                hosts.parent.mkdir(parents=True, exist_ok=True)
            env["GIT_SSH_COMMAND"] = ssh_command(key_file, known_hosts=hosts, strict=strict)
            scrub = Scrubber(credentials.secrets())
        env.update(_config_env(config))
        yield GitAuth(env, scrub)
    finally:
        if key_dir is not None:
            shutil.rmtree(key_dir, ignore_errors=True)
