"""``gitloop app create|set|delete``: change a gitloop server's Applications, as ``argocd app`` does.

Server mode only (``--server URL`` or ``$GITLOOP_SERVER``): in local mode the Applications are the
``-f`` files, which these verbs do not edit (exit 2, "needs --server").

- ``create -f FILE [--upsert]``: every Application of the file, checked here by the Application parser,
  is sent as ``POST /api/v1/applications``; one of the same name with another spec is refused unless
  ``--upsert``.
- ``set NAME [--revision R] [--path P] [-p KEY=VALUE ...] [--sync-policy automated|none]``: reads the
  Application, changes its (single) source's ``targetRevision``, ``path``, Helm parameters and the
  automated sync policy, and writes it back (``PUT``).
- ``delete NAME [--cascade/--no-cascade] [--propagation-policy foreground|background] [--wait]``:
  ``argocd app delete``'s default is cascading (its resources are deleted, by reverse sync wave, with
  its PreDelete/PostDelete hooks); the server deletes in the background, ``--wait`` waits for the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitloop.cli.client_tls import client_tls, server_options
from gitloop.errors import UsageError

if TYPE_CHECKING:
    from gitloop.service.client import ApiClient


def _client(verb: str, server: str | None, auth_token: str | None) -> ApiClient:
    if not server:
        raise UsageError(
            f"gitloop app {verb} needs --server URL (or $GITLOOP_SERVER): it changes a server's "
            "Applications; in local mode the Applications are the -f files, edit them instead"
        )
    from gitloop.service.client import ApiClient

    client = ApiClient(server, auth_token, tls=client_tls())
    click.get_current_context().call_on_close(client.close)
    return client


_server_options = server_options(help="The gitloop server (default: $GITLOOP_SERVER).")


@click.command()
@click.option(
    "-f", "--file", "path", required=True, type=click.Path(dir_okay=False), help="Application YAML."
)
@click.option("--upsert", is_flag=True, help="Replace an Application of the same name.")
@_server_options
def create(path: str, upsert: bool, server: str | None, auth_token: str | None) -> None:
    """Create the Applications of FILE in a server."""
    from gitloop.spec.argocd import Application, parse_document
    from gitloop.spec.yaml.documents import load_file

    client = _client("create", server, auth_token)
    documents = load_file(Path(path))
    bodies = [d.body for d in documents if isinstance(parse_document(d), Application)]
    if not bodies:
        raise UsageError(f"{path}: no Application in the file")
    for body in bodies:
        found = client.create(body, upsert=upsert)
        click.echo(f"application '{found['metadata']['name']}' created")


def _helm_parameters(source: dict[str, Any], pairs: tuple[str, ...]) -> None:
    helm = source.setdefault("helm", {})
    parameters: list[dict[str, Any]] = list(helm.get("parameters") or [])
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"-p {pair}: expected KEY=VALUE")
        parameters = [p for p in parameters if p.get("name") != key]
        parameters.append({"name": key, "value": value})
    helm["parameters"] = parameters


@click.command("set")
@click.argument("name")
@click.option("--revision", help="The source's targetRevision (branch, tag or commit).")
@click.option("--path", "source_path", help="The source's path in its repository.")
@click.option("-p", "--helm-set", "helm_set", multiple=True, metavar="KEY=VALUE", help="A Helm parameter.")
@click.option("--sync-policy", type=click.Choice(["automated", "none"]), help="Automated sync on or off.")
@_server_options
def set_app(
    name: str,
    revision: str | None,
    source_path: str | None,
    helm_set: tuple[str, ...],
    sync_policy: str | None,
    server: str | None,
    auth_token: str | None,
) -> None:
    """Change an Application's source and sync policy in a server."""
    client = _client("set", server, auth_token)
    found = client.application(name)
    spec: dict[str, Any] = dict(found.get("spec") or {})
    if (revision or source_path or helm_set) and "source" not in spec:
        raise UsageError(f"{name} has several sources: gitloop app set changes a single source")
    if "source" in spec:
        source = dict(spec["source"])
        if revision:
            source["targetRevision"] = revision
        if source_path:
            source["path"] = source_path
        if helm_set:
            _helm_parameters(source, helm_set)
        spec["source"] = source
    if sync_policy:
        policy = dict(spec.get("syncPolicy") or {})
        if sync_policy == "automated":
            policy["automated"] = policy.get("automated") or {}
        else:
            policy.pop("automated", None)
        spec["syncPolicy"] = policy
    keep = ("name", "namespace", "labels", "annotations", "finalizers")
    metadata = {k: v for k, v in (found.get("metadata") or {}).items() if k in keep}
    document = {"apiVersion": found["apiVersion"], "kind": "Application", "metadata": metadata, "spec": spec}
    client.update(name, document)
    click.echo(f"application '{name}' updated")


@click.command()
@click.argument("name")
@click.option(
    "--cascade/--no-cascade",
    default=True,
    show_default=True,
    help="Delete the Application's resources too (argocd app delete's default).",
)
@click.option("--propagation-policy", type=click.Choice(["foreground", "background"]), default=None)
@click.option("--wait", is_flag=True, help="Wait until the deletion is done.")
@_server_options
def delete(
    name: str,
    cascade: bool,
    propagation_policy: str | None,
    wait: bool,
    server: str | None,
    auth_token: str | None,
) -> None:
    """Delete an Application in a server (its resources too, unless --no-cascade)."""
    client = _client("delete", server, auth_token)
    client.delete(name, cascade=cascade, propagation=propagation_policy)
    if wait:
        client.deleted(name)
        click.echo(f"application '{name}' deleted")
    else:
        click.echo(f"application '{name}' is being deleted")
