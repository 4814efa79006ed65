"""``gitloop cluster``'s server verbs without a server: ``k=v`` flags, the ``list`` table, the help's two
groups, and the exit 2 naming ``--server`` when no server is given."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from gitloop.cli.cluster_remote import pairs, row, table
from gitloop.cli.main import cli


@pytest.mark.parametrize(
    ("values", "expected"),
    [((), {}), (("env=dev",), {"env": "dev"}), (("a=b=c", "e="), {"a": "b=c", "e": ""})],
)
def test_key_value_flags(values: tuple[str, ...], expected: dict[str, str]) -> None:
    assert pairs(values, "--label") == expected


@pytest.mark.parametrize("bad", ["env", "=dev"])
def test_a_flag_without_a_key_and_value_names_the_flag(bad: str) -> None:
    with pytest.raises(click.BadParameter) as caught:
        pairs((bad,), "--label")
    assert "--label" in caught.value.format_message() or caught.value.param_hint == "--label"


def test_the_list_table_has_argo_cds_columns() -> None:
    ok = {"server": "https://a:6443", "name": "a", "serverVersion": "1.29"}
    ok |= {"connectionState": {"status": "Successful", "message": ""}, "project": "shop"}
    failed = {
        "server": "https://b",
        "name": "b",
        "connectionState": {"status": "Failed", "message": "refused"},
    }
    assert row(failed) == ("https://b", "b", "", "Failed", "refused", "")
    assert table([row(ok), row(failed)]).splitlines() == [
        "SERVER          NAME  VERSION  STATUS      MESSAGE  PROJECT",
        "https://a:6443  a     1.29     Successful           shop",
        "https://b       b              Failed      refused",
    ]


@pytest.mark.parametrize("verb", [["list"], ["get", "x"], ["rm", "x"], ["add", "ctx"]])
def test_the_server_verbs_need_a_server(verb: list[str]) -> None:
    result = CliRunner().invoke(cli, ["cluster", *verb], env={"GITLOOP_SERVER": ""})
    assert result.exit_code == 2 and "--server" in result.output


def test_the_help_lists_the_two_groups_apart() -> None:
    shown = CliRunner().invoke(cli, ["cluster", "--help"]).output
    local, remote = shown.index("Local control plane"), shown.index("Registered clusters")
    assert local < shown.index("  up ") < remote < shown.index("  add ")
