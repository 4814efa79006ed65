"""The one exception tree of gitloop.

Every error gitloop raises on purpose is a ``GitloopError``; library errors are chained with
``raise ... from``. The faces map the tree onto exit codes: ``UsageError`` and ``SpecError`` are
the user's input (exit 2), everything else is a failure of the operation (exit 1).

    GitloopError
    ├── UsageError          bad command-line use or configuration (exit 2)
    ├── SpecError           a YAML document that does not validate; names file, object and field (exit 2)
    │   ├── InputLimitError the input is too large, nests too deep or its aliases expand too far
    │   └── SealingError    a SealedSecret or sealing key that cannot be used; never quotes plaintext
    ├── GitError            git repositories, clones, pushes
    ├── ClusterError        the Kubernetes API server answered with an error or is unreachable
    │   ├── NotFoundError
    │   ├── ConflictError
    │   └── ForbiddenError
    ├── InfraError          the local control plane or git server could not be built, started or stopped
    ├── RenderError         helm / kustomize / directory rendering
    ├── PipelineError       the CI engine
    ├── SyncError           the CD engine
    │   └── OperationInProgress  another sync operation of the Application is running
    └── AuthError           webhook signatures, credentials
"""

from __future__ import annotations


class GitloopError(Exception):
    """Base of every error gitloop raises on purpose."""

    exit_code = 1


class UsageError(GitloopError):
    """Bad command-line use or configuration."""

    exit_code = 2


class SpecError(GitloopError):
    """A document that does not validate. The message names file, object and field."""

    exit_code = 2

    def __init__(
        self, message: str, *, file: str | None = None, obj: str | None = None, field: str | None = None
    ) -> None:
        self.file = file
        self.obj = obj
        self.field = field
        where = ": ".join(p for p in (file, obj, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


class InputLimitError(SpecError):
    """YAML or JSON refused before it was read in full: too many bytes, nesting too deep, or aliases that
    expand too far. ``problem`` is the reason alone, without the file and the hint on raising the limit."""

    def __init__(self, problem: str, *, file: str | None = None, hint: str = "") -> None:
        self.problem = problem
        super().__init__(f"{problem} ({hint})" if hint else problem, file=file)


class SealingError(SpecError):
    """A SealedSecret that cannot be sealed or unsealed, or a sealing key or certificate that cannot be
    used. Names the object and field and the reason; never carries any plaintext."""


class GitError(GitloopError):
    """A git operation failed."""


class ClusterError(GitloopError):
    """The Kubernetes API server answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        self.status = status
        self.reason = reason
        super().__init__(message)


class NotFoundError(ClusterError):
    """The object or its kind does not exist (HTTP 404)."""


class ConflictError(ClusterError):
    """The object already exists, or a field-manager conflict (HTTP 409)."""


class ForbiddenError(ClusterError):
    """Authenticated but not allowed (HTTP 401/403)."""


class InfraError(GitloopError):
    """The local control plane or git server could not be built, started or stopped."""


class RenderError(GitloopError):
    """Rendering manifests (directory, Kustomize, Helm) failed."""


class PipelineError(GitloopError):
    """The CI engine failed outside of a run's own outcome."""


class SyncError(GitloopError):
    """The CD engine failed outside of a sync operation's own outcome."""


class OperationInProgress(SyncError):
    """Another sync operation of the Application is already running."""


class AuthError(GitloopError):
    """A signature, token or credential did not verify."""
