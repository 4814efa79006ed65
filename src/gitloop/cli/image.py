"""``gitloop image set``: put a new image reference into a config repository and push the commit.

Exit codes: 0 when the commit was pushed or the file already had the image (no commit; the output
says which), 2 for bad input (a missing file or field, an unparsable path expression, an image not
found in the file), 1 when git fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gitloop.errors import UsageError
from gitloop.git import Credentials, HttpsCredentials, SshCredentials, credentials_from_store
from gitloop.git.worktree import CommitSigning, Identity, Worktree
from gitloop.handoff import MAX_ATTEMPTS, HandoffResult
from gitloop.service.handoff import DEFAULT_AUTHOR, ImageHandoff, set_image

_file = click.Path(dir_okay=False, exists=True, path_type=Path)


def _credentials(
    username: str | None,
    password_file: Path | None,
    ssh_key: Path | None,
    known_hosts: Path | None,
    store: tuple[Path | None, str | None] = (None, None),
) -> Credentials | None:
    store_file, repo = store
    given = [ssh_key is not None, bool(username or password_file), store_file is not None]
    if sum(given) > 1:
        raise UsageError("give one of --ssh-key, --username/--password-file and --git-credentials")
    if ssh_key is not None:
        return SshCredentials(private_key_file=ssh_key.resolve(), known_hosts_file=known_hosts)
    if store_file is not None:
        if repo is None:
            raise UsageError("--git-credentials needs --repo, or --dir with an origin remote")
        return credentials_from_store(store_file.read_text(), repo)
    if password_file is not None:
        password = password_file.read_text().strip()
        return HttpsCredentials(username or "git", password)
    if username:
        raise UsageError("--username needs --password-file")
    return None


def _origin(directory: Path | None) -> str | None:
    """The ``origin`` URL of the checkout at ``directory``."""
    return Worktree.open(directory).url if directory is not None else None


def _describe(result: HandoffResult) -> str:
    if result.commit is None:
        return (
            f"unchanged: {result.file} on {result.branch} of {result.repository} already has "
            f"{result.image} (no commit)"
        )
    lines = [f"committed {result.commit} to {result.branch} of {result.repository}"]
    if not result.pushed:
        lines[0] += " (local only: no origin remote)"
    if result.attempts > 1:
        lines[0] += f" after {result.attempts} attempts"
    for change in result.changes:
        lines.append(f"  {result.file}:{change.line} {change.field}: {change.old} -> {change.new}")
    return "\n".join(lines)


@click.group()
def image() -> None:
    """Image handoff: set image references in a config repository, committed and pushed."""


@image.command("set")
@click.option("--repo", metavar="URL", help="The config repository to clone (HTTPS, SSH or a path).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A checkout to commit in instead (pushed to its origin remote, if any).",
)
@click.option(
    "--file",
    "file",
    required=True,
    metavar="PATH",
    help="The YAML file: relative to the repository root (to DIR with --dir).",
)
@click.option(
    "--image",
    "image_arg",
    metavar="NAME=REF",
    help="NAME (image name or Flux policy ns:name) and the new reference; or just REF.",
)
@click.option(
    "--path",
    "path_expr",
    metavar="EXPR",
    help="A yq path (.spec.template.spec.containers[name=web].image), or '<path> = \"<value>\"'.",
)
@click.option("--branch", help="Branch to commit to [default: the checkout's, or the remote's default].")
@click.option(
    "--message",
    metavar="TEMPLATE",
    help="Commit message; placeholders {image} {image_name} {tag} {digest} {file} {source_commit} "
    "{source_commit_short} {pipelinerun} {branch}. Trailers are always added.",
)
@click.option("--source-commit", metavar="SHA", help="The source commit the image was built from.")
@click.option("--pipelinerun", metavar="NAME", help="The PipelineRun that built the image.")
@click.option("--author", metavar='"NAME <EMAIL>"', default=str(DEFAULT_AUTHOR), show_default=True)
@click.option("--sign-key", metavar="KEY", help="Sign the commit: a GPG key id, or an SSH key file.")
@click.option(
    "--sign-format",
    type=click.Choice(["openpgp", "ssh"]),
    default="openpgp",
    show_default=True,
    help="Signature kind for --sign/--sign-key.",
)
@click.option("--sign", is_flag=True, help="Sign with gpg's default key for the author (no --sign-key).")
@click.option("--username", help="HTTPS user name (with --password-file).")
@click.option("--password-file", type=_file, help="File holding the HTTPS password or token.")
@click.option("--ssh-key", type=_file, help="SSH private key file for an SSH repository URL.")
@click.option("--known-hosts", type=_file, help="known_hosts file the SSH host key must be in.")
@click.option(
    "--git-credentials",
    "credentials_store",
    type=_file,
    help="A git-credentials store file (https://user:token@host lines); the line for the repository is used.",
)
@click.option(
    "--commit-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the SHA the branch points at afterwards (the new commit, or the unchanged tip) to this file.",
)
@click.option(
    "--attempts",
    type=click.IntRange(1, 100),
    default=MAX_ATTEMPTS,
    show_default=True,
    help="Pushes to try while the branch keeps moving.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def set_(
    repo: str | None,
    directory: Path | None,
    file: str,
    image_arg: str | None,
    path_expr: str | None,
    branch: str | None,
    message: str | None,
    source_commit: str | None,
    pipelinerun: str | None,
    author: str,
    sign_key: str | None,
    sign_format: str,
    sign: bool,
    username: str | None,
    password_file: Path | None,
    ssh_key: Path | None,
    known_hosts: Path | None,
    credentials_store: Path | None,
    commit_file: Path | None,
    attempts: int,
    output: str,
) -> None:
    """Set an image in FILE of a config repository, commit and push (no commit if nothing changes).

    \b
    FILE is edited in one of these ways:
      --path EXPR               the field(s) a yq-style path names
      Flux $imagepolicy markers the fields marked for NAME (policy ns:name or image name)
      a kustomization           its images: entry for NAME, as `kustomize edit set image NAME=REF`
      any other YAML            every image: field whose image name is NAME
    """
    signing = None
    if sign or sign_key:
        signing = CommitSigning("ssh" if sign_format == "ssh" else "openpgp", sign_key)
    request = ImageHandoff(
        file=file,
        image=image_arg,
        repo=repo,
        directory=directory,
        path=path_expr,
        branch=branch,
        message=message,
        author=Identity.parse(author),
        source_commit=source_commit,
        pipelinerun=pipelinerun,
        signing=signing,
        credentials=_credentials(
            username,
            password_file,
            ssh_key,
            known_hosts,
            (credentials_store, repo or _origin(directory) if credentials_store else None),
        ),
        known_hosts=known_hosts,
    )
    result = set_image(request, max_attempts=attempts)
    if commit_file is not None:
        commit_file.write_text(result.commit or result.base)
    click.echo(json.dumps(result.as_dict(), indent=2) if output == "json" else _describe(result))
