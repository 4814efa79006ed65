"""The ``gitloop`` command: a click group that maps the exception tree onto exit codes.

Exit codes: 0 success, 1 the operation failed, 2 usage or validation error (bad flags, bad YAML).
"""

from __future__ import annotations

import sys

import click

from gitloop import __version__
from gitloop.errors import GitloopError


class _Group(click.Group):
    """Turns every ``GitloopError`` into one clear line on stderr and its exit code."""

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


def _register() -> None:
    from gitloop.cli import cluster as cluster_cmd
    from gitloop.cli import demo as demo_cmd
    from gitloop.cli import gitserver as gitserver_cmd
    from gitloop.cli import health as health_cmd
    from gitloop.cli import image as image_cmd

    cli.add_command(cluster_cmd.cluster)
    cli.add_command(demo_cmd.demo)
    cli.add_command(gitserver_cmd.gitserver)
    cli.add_command(health_cmd.health)
    cli.add_command(image_cmd.image)


_register()


def main() -> None:
    cli(prog_name="gitloop")
