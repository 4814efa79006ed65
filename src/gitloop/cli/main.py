"""The ``gitloop`` command: a click group that maps the exception tree onto exit codes.

Exit codes: 0 success, 1 the operation failed, 2 usage or validation error (bad flags, bad YAML).

Command modules are imported only when their command runs (or help lists them), so ``gitloop pipeline
run`` does not pay for the Kubernetes client, the git server or the store of other commands: start-up
time is part of the pipeline benchmark. Add a command by adding one line to ``_COMMANDS``.
"""

from __future__ import annotations

import importlib
import sys

import click

from gitloop import __version__
from gitloop.errors import GitloopError

_COMMANDS: dict[str, str] = {
    "account": "gitloop.cli.account:account",
    "app": "gitloop.cli.app:app",
    "approve": "gitloop.cli.promote:approve",
    "audit": "gitloop.cli.audit:audit",
    "cluster": "gitloop.cli.cluster:cluster",
    "demo": "gitloop.cli.demo:demo",
    "gitserver": "gitloop.cli.gitserver:gitserver",
    "health": "gitloop.cli.health:health",
    "image": "gitloop.cli.image:image",
    "login": "gitloop.cli.login:login",
    "logout": "gitloop.cli.login:logout",
    "metrics": "gitloop.cli.metrics:metrics",
    "pipeline": "gitloop.cli.pipeline:pipeline",
    "promote": "gitloop.cli.promote:promote",
    "promotion": "gitloop.cli.promote:promotion",
    "seal": "gitloop.cli.seal:seal_command",
    "serve": "gitloop.cli.serve:serve",
    "task": "gitloop.cli.pipeline:task",
    "trace": "gitloop.cli.trace:trace",
}
"""Command name → ``module:attribute`` of its click command."""


class _Group(click.Group):
    """Loads commands lazily and turns every ``GitloopError`` into one clear line and its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GitloopError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitloop")
def cli() -> None:
    """gitloop: Tekton-compatible CI and Argo CD-compatible CD, joined by git."""


def main() -> None:
    cli(prog_name="gitloop")
