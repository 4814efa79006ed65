"""The configuration file of ``gitloop serve``, read into a frozen ``ServeConfig``.

One YAML document (``kind: ServeConfig``, documented with an example in ``docs/serve.md``): where to
listen and how long and large a request may be, the store, the EventListeners served at
``/hooks/<name>`` with the Triggers, Pipeline/Task and Secret files behind them, the Pipelines
Applications may run after a sync (``postSync``), the Applications (files, or a directory of a git
repository), the clusters (kubeconfig contexts), repository credentials and the webhook secret.
Paths are relative to the file's directory. Only the *paths* of secret files are read here, never
their content, so a ``ServeConfig`` can be printed and logged. Every mistake is a ``SpecError``
naming ``file:line`` and the field.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gitloop.errors import SpecError
from gitloop.model.sizes import parse_size
from gitloop.spec.fields import Node, Origin
from gitloop.spec.serve_auth import AuthConfig, RBACConfig, parse_auth, parse_rbac
from gitloop.spec.serve_notifications import NotificationsConfig, parse_notifications
from gitloop.spec.serve_sealing import SealingConfig, parse_sealing
from gitloop.spec.serve_tls import TLSConfig, parse_tls
from gitloop.spec.yaml.documents import load_file

API_VERSION = "gitloop.dev/v1alpha1"
KIND = "ServeConfig"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_POLL_INTERVAL = 180.0
DEFAULT_APPLICATIONS_POLL_INTERVAL = 3.0
DEFAULT_SHUTDOWN_GRACE = 30.0
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_READ_HEADER_TIMEOUT = 10.0
DEFAULT_READ_BODY_TIMEOUT = 30.0
DEFAULT_MAX_PARALLEL_RUNS = 4
EXECUTORS = ("local", "podman")

_TOP = (
    "apiVersion",
    "kind",
    "listen",
    "allowRemote",
    "apiTokenFile",
    "tls",
    "sealedSecrets",
    "databaseURL",
    "databaseURLFile",
    "pollInterval",
    "applicationsPollInterval",
    "shutdownGracePeriod",
    "maxBodyBytes",
    "readHeaderTimeout",
    "readBodyTimeout",
    "pipelines",
    "eventListeners",
    "postSync",
    "applications",
    "clusters",
    "repositories",
    "webhook",
    "logs",
    "auth",
    "rbac",
    "notifications",
)
_HINTS = {
    "database": "use databaseURL (or databaseURLFile)",
    "listeners": "use eventListeners",
    "address": "use listen: HOST:PORT",
}


@dataclass(frozen=True)
class ListenerConfig:
    """One EventListener served at ``/hooks/<name>``, and the files it needs."""

    name: str
    triggers: tuple[Path, ...]
    """Files/directories with the EventListener, Triggers, bindings and templates (other kinds skipped)."""
    pipelines: tuple[Path, ...] = ()
    """Pipelines and Tasks the created PipelineRuns refer to."""
    secrets: tuple[Path, ...] = ()
    """``v1`` Secret manifests holding the interceptors' webhook secrets."""


@dataclass(frozen=True)
class AppSourceConfig:
    """Where Application (and AppProject) manifests are read: local ``files``, or ``path`` of
    ``repo_url`` at ``revision``."""

    files: tuple[Path, ...] = ()
    repo_url: str = ""
    revision: str = "HEAD"
    path: str = ""


@dataclass(frozen=True)
class ClusterConfig:
    """A destination cluster: Applications name it with ``destination.name``; the first is also
    ``https://kubernetes.default.svc``."""

    name: str
    kubeconfig: Path | None = None
    """``None``: ``$KUBECONFIG``, else ``~/.kube/config``."""
    context: str = ""
    """``""``: the kubeconfig's current context."""
    server: str = ""
    """The URL Applications name it by (``destination.server``); ``""``: its kubeconfig cluster's."""
    labels: tuple[tuple[str, str], ...] = ()
    """Labels the ApplicationSet ``clusters`` generator selects on."""
    annotations: tuple[tuple[str, str], ...] = ()
    project: str = ""
    """The AppProject it is scoped to (``""``: every project)."""


@dataclass(frozen=True)
class RepositoryConfig:
    """Credentials for the repositories under ``url`` (longest prefix wins): HTTPS or SSH."""

    url: str
    username: str = ""
    password_file: Path | None = None
    ssh_key_file: Path | None = None
    known_hosts_file: Path | None = None


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``gitloop serve`` needs, with paths made absolute."""

    file: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    api_token_file: Path | None = None
    tls: TLSConfig | None = None
    """``None``: plain HTTP."""
    database_url: str = field(default="", repr=False)
    """May hold a password: never shown."""
    database_url_file: Path | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    read_header_timeout: float = DEFAULT_READ_HEADER_TIMEOUT
    """How long a connection may take to send a request's line and headers."""
    read_body_timeout: float = DEFAULT_READ_BODY_TIMEOUT
    """How long a request may take to send its body, from the end of its headers."""
    max_parallel_runs: int = DEFAULT_MAX_PARALLEL_RUNS
    executor: str = "local"
    log_limit: int | None = None
    """``logs.maxBytesPerStep``: log text the store keeps per step (0: all); ``None``: the default."""
    listeners: tuple[ListenerConfig, ...] = ()
    post_sync_pipelines: tuple[Path, ...] = ()
    """Pipelines and Tasks an Application's ``gitloop.dev/post-sync-pipeline`` annotation may name."""
    applications: tuple[AppSourceConfig, ...] = ()
    applications_poll_interval: float = DEFAULT_APPLICATIONS_POLL_INTERVAL
    """How often the local files and directories of ``applications`` are checked for changes."""
    clusters: tuple[ClusterConfig, ...] = ()
    repositories: tuple[RepositoryConfig, ...] = ()
    webhook_secret_file: Path | None = None
    sealed_secrets: SealingConfig = field(default_factory=SealingConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    rbac: RBACConfig = field(default_factory=RBACConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def listener(self, name: str) -> ListenerConfig | None:
        return next((entry for entry in self.listeners if entry.name == name), None)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP address or ``localhost``) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(node: Node) -> tuple[str, int]:
    text = node.as_str().strip()
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
    else:
        host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise node.error(f"{text!r} is not HOST:PORT (for example 127.0.0.1:8080)")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise node.error(f"port {port} is out of range 0-65535")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise node.error(f"{host!r} is not an IP address (or localhost)") from None
    return host, port


class _Paths:
    """Reads paths relative to the config file's directory, checking that they exist."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def one(self, node: Node, *, must_exist: bool = True, directory_ok: bool = True) -> Path:
        text = node.as_str().strip()
        if not text:
            raise node.error("must not be empty")
        path = Path(text).expanduser()
        path = path if path.is_absolute() else self.base / path
        if must_exist and not path.exists():
            raise node.error(f"{path}: no such file or directory")
        if not directory_ok and path.is_dir():
            raise node.error(f"{path} is a directory; a file is expected")
        return path

    def optional(self, parent: Node, key: str, **kwargs: bool) -> Path | None:
        child = parent.child(key)
        return None if child is None else self.one(child, **kwargs)

    def many(self, parent: Node, key: str, *, required: bool = False) -> tuple[Path, ...]:
        child = parent.child(key)
        if child is None:
            if required:
                raise parent.error("required field is missing", key)
            return ()
        items = [child] if isinstance(child.value, str) else child.items()
        if required and not items:
            raise child.error("must name at least one file or directory")
        return tuple(self.one(item) for item in items)


def _listeners(node: Node, paths: _Paths) -> tuple[ListenerConfig, ...]:
    found: list[ListenerConfig] = []
    for item in node.items("eventListeners"):
        item.only(("name", "triggers", "pipelines", "secrets"))
        name = item.string("name", required=True)
        if any(entry.name == name for entry in found):
            raise item.field("name").error(f"EventListener {name!r} is listed twice")
        found.append(
            ListenerConfig(
                name=name,
                triggers=paths.many(item, "triggers", required=True),
                pipelines=paths.many(item, "pipelines"),
                secrets=paths.many(item, "secrets"),
            )
        )
    return tuple(found)


def _applications(node: Node, paths: _Paths) -> tuple[AppSourceConfig, ...]:
    found: list[AppSourceConfig] = []
    for item in node.items("applications"):
        item.only(("files", "repoURL", "revision", "path"))
        if item.has("files"):
            for key in ("repoURL", "revision", "path"):
                if item.has(key):
                    raise item.field(key).error("give either files or repoURL (with revision and path)")
            found.append(AppSourceConfig(files=paths.many(item, "files", required=True)))
            continue
        if not item.has("repoURL"):
            raise item.error("needs files, or repoURL (with revision and path)")
        path = item.string("path").strip("/")
        if ".." in Path(path).parts:
            raise item.field("path").error("must stay inside the repository (no '..')")
        found.append(
            AppSourceConfig(
                repo_url=item.string("repoURL", required=True),
                revision=item.string("revision") or "HEAD",
                path=path,
            )
        )
    return tuple(found)


def _clusters(node: Node, paths: _Paths) -> tuple[ClusterConfig, ...]:
    found: list[ClusterConfig] = []
    for item in node.items("clusters"):
        item.only(("name", "kubeconfig", "context", "server", "labels", "annotations", "project"))
        name = item.string("name", required=True)
        if any(entry.name == name for entry in found):
            raise item.field("name").error(f"cluster {name!r} is listed twice")
        kubeconfig = paths.optional(item, "kubeconfig", directory_ok=False)
        server = item.string("server").strip()
        if server and urlsplit(server).scheme not in ("http", "https"):
            raise item.field("server").error(f"{server!r} is not an http(s) URL")
        if server and _has_password(server):
            raise item.field("server").error("must not hold a password")
        found.append(
            ClusterConfig(
                name,
                kubeconfig,
                item.string("context"),
                server=server,
                labels=tuple(sorted(item.string_map("labels").items())),
                annotations=tuple(sorted(item.string_map("annotations").items())),
                project=item.string("project"),
            )
        )
    return tuple(found)


def _has_password(url: str) -> bool:
    try:
        return urlsplit(url.strip()).password is not None
    except ValueError:
        return False


def _repositories(node: Node, paths: _Paths) -> tuple[RepositoryConfig, ...]:
    found: list[RepositoryConfig] = []
    for item in node.items("repositories"):
        item.only(("url", "username", "passwordFile", "sshKeyFile", "knownHostsFile"))
        url = item.string("url", required=True)
        username = item.string("username")
        password = paths.optional(item, "passwordFile", directory_ok=False)
        key = paths.optional(item, "sshKeyFile", directory_ok=False)
        hosts = paths.optional(item, "knownHostsFile", directory_ok=False)
        if _has_password(url):
            raise item.field("url").error("must not hold credentials: use username and passwordFile")
        if key is not None and (password is not None or username):
            raise item.field("sshKeyFile").error("give either sshKeyFile or username/passwordFile, not both")
        if key is None and password is None:
            raise item.error("needs passwordFile (HTTPS) or sshKeyFile (SSH)")
        if hosts is not None and key is None:
            raise item.field("knownHostsFile").error("only applies with sshKeyFile")
        found.append(RepositoryConfig(url, username, password, key, hosts))
    return tuple(found)


def remote_refusal(config: ServeConfig, *, insecure: bool) -> str:
    """Why ``allowRemote`` may not be served as configured (``""``: it may). Listening beyond this
    machine needs TLS and authentication (``auth.anonymous: false``, the default: an ``apiTokenFile``
    beside anonymous access still lets anyone in), unless ``--insecure`` says otherwise."""
    if not config.allow_remote or insecure:
        return ""
    missing = [
        what
        for what, given in (
            ("TLS (tls: in the file, or --tls-cert/--tls-key)", config.tls is not None),
            (
                "authentication (auth.anonymous: false)",
                not config.auth.anonymous,
            ),
        )
        if not given
    ]
    if not missing:
        return ""
    return (
        f"{config.file}: allowRemote: true needs TLS and authentication; missing {' and '.join(missing)} "
        "(or run gitloop serve --insecure to serve without them)"
    )


def _timeout(node: Node, key: str) -> float | None:
    """A read timeout: a duration above zero (a request is never given unbounded time)."""
    seconds = node.duration(key)
    if seconds == 0:
        raise node.field(key).error("must be more than 0 (there is no unbounded read)")
    return seconds


def _size(node: Node, key: str) -> int | None:
    """A byte size: a number of bytes or a string such as ``4Mi``; ``None`` when absent."""
    found = node.child(key)
    if found is None:
        return None
    value = found.value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return parse_size(value)
        except ValueError as exc:
            raise found.error(str(exc)) from exc
    raise found.error(f"must be a size in bytes (e.g. 4194304 or 4Mi), got {value!r}")


def parse(node: Node, base: Path, file: str) -> ServeConfig:
    """A ``ServeConfig`` from the document at ``node``; paths relative to ``base``."""
    node.only(_TOP, _HINTS)
    for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
        value = node.string(key)
        if value and value != expected:
            raise node.field(key).error(f"must be {expected!r}, got {value!r}")
    paths = _Paths(base)
    host, port = (DEFAULT_HOST, DEFAULT_PORT)
    listen = node.child("listen")
    if listen is not None:
        host, port = _listen(listen)
    allow_remote = node.boolean("allowRemote")
    api_token = paths.optional(node, "apiTokenFile", directory_ok=False)
    if not is_loopback(host) and not allow_remote:
        raise node.field("listen").error(
            f"{host} is not a loopback address: the API has no other protection than the address it "
            "listens on; set allowRemote: true (with tls and apiTokenFile) to listen beyond this machine"
        )
    if node.has("databaseURL") and node.has("databaseURLFile"):
        raise node.field("databaseURLFile").error("give either databaseURL or databaseURLFile")
    pipelines = node.child("pipelines")
    max_parallel, executor = DEFAULT_MAX_PARALLEL_RUNS, "local"
    if pipelines is not None:
        pipelines.only(("maxParallel", "executor"))
        max_parallel = pipelines.integer("maxParallel", DEFAULT_MAX_PARALLEL_RUNS, minimum=1)
        executor = pipelines.one_of("executor", EXECUTORS, "local")
    logs = node.child("logs")
    log_limit = None
    if logs is not None:
        logs.only(("maxBytesPerStep",))
        log_limit = _size(logs, "maxBytesPerStep")
    webhook = node.child("webhook")
    webhook_secret = None
    if webhook is not None:
        webhook.only(("secretFile",))
        webhook_secret = paths.optional(webhook, "secretFile", directory_ok=False)
    post_sync = node.child("postSync")
    post_sync_pipelines: tuple[Path, ...] = ()
    if post_sync is not None:
        post_sync.only(("pipelines",))
        post_sync_pipelines = paths.many(post_sync, "pipelines", required=True)
    poll = node.duration("pollInterval")
    grace = node.duration("shutdownGracePeriod")
    if poll is not None and poll < 1:
        raise node.field("pollInterval").error("must be at least 1s")
    apps_poll = node.duration("applicationsPollInterval")
    if apps_poll is not None and apps_poll < 0.1:
        raise node.field("applicationsPollInterval").error("must be at least 100ms")
    read_header, read_body = _timeout(node, "readHeaderTimeout"), _timeout(node, "readBodyTimeout")
    return ServeConfig(
        file=file,
        host=host,
        port=port,
        allow_remote=allow_remote,
        api_token_file=api_token,
        tls=parse_tls(node, lambda parent, key: paths.optional(parent, key, directory_ok=False)),
        database_url=node.string("databaseURL"),
        database_url_file=paths.optional(node, "databaseURLFile", directory_ok=False),
        poll_interval=DEFAULT_POLL_INTERVAL if poll is None else poll,
        shutdown_grace=DEFAULT_SHUTDOWN_GRACE if grace is None else grace,
        max_body_bytes=node.integer("maxBodyBytes", DEFAULT_MAX_BODY_BYTES, minimum=1024),
        read_header_timeout=DEFAULT_READ_HEADER_TIMEOUT if read_header is None else read_header,
        read_body_timeout=DEFAULT_READ_BODY_TIMEOUT if read_body is None else read_body,
        max_parallel_runs=max_parallel,
        executor=executor,
        log_limit=log_limit,
        listeners=_listeners(node, paths),
        post_sync_pipelines=post_sync_pipelines,
        applications=_applications(node, paths),
        applications_poll_interval=DEFAULT_APPLICATIONS_POLL_INTERVAL if apps_poll is None else apps_poll,
        clusters=_clusters(node, paths),
        repositories=_repositories(node, paths),
        webhook_secret_file=webhook_secret,
        sealed_secrets=parse_sealing(node, lambda found: paths.one(found, must_exist=False)),
        auth=parse_auth(node),
        rbac=parse_rbac(node, lambda found: paths.one(found, directory_ok=False)),
        notifications=parse_notifications(node, lambda found: paths.one(found, directory_ok=False)),
    )


def load(path: str | Path) -> ServeConfig:
    """Read the configuration file at ``path``; ``SpecError`` naming ``file:line`` for any mistake."""
    file = Path(path).expanduser()
    documents = load_file(file)
    if len(documents) != 1:
        raise SpecError(f"a serve configuration is one YAML document, found {len(documents)}", file=str(file))
    document = documents[0]
    origin = Origin(str(file), KIND)
    node = Node(document.body, "", origin, document.line)
    return parse(node, file.resolve().parent, str(file))
