"""policy.csv parsing (gitloop.access.policy): what a good policy reads as, each reason a line is
refused (named ``source:line``, the field and the reason), the size bounds, and the built-in policy."""

from __future__ import annotations

import pytest

from gitloop.access.policy import (
    BUILTIN_POLICY,
    BUILTIN_POLICY_CSV,
    RESOURCES,
    PolicyLine,
    parse_policy,
    role_names,
)
from gitloop.errors import SpecError

GOOD = """\
# developers
p, role:dev, applications, sync, dev/*, allow

  p ,  role:dev ,applications,  get , dev/* , allow
p, role:dev, applications, action/apps/Deployment/restart, dev/*, allow
p, role:dev, applications, "action/*", "dev/*", deny
p, role:ops, *, *, *, allow
p, role:ops, pipeline*, "{create,cancel}", *, allow
g, alice, role:dev
g, "Team: Platform", role:ops
"""


def test_good_policy() -> None:
    lines = parse_policy(GOOD, source="policy.csv")
    assert [line.source for line in lines] == [f"policy.csv:{n}" for n in (2, 4, 5, 6, 7, 8, 9, 10)]
    assert lines[1] == PolicyLine("p", ("role:dev", "applications", "get", "dev/*", "allow"), "policy.csv:4")
    assert lines[3].fields[2:] == ("action/*", "dev/*", "deny")
    assert lines[-1] == PolicyLine("g", ("Team: Platform", "role:ops"), "policy.csv:10")
    assert lines[0].text() == "p, role:dev, applications, sync, dev/*, allow"


def test_first_line_offsets_the_numbers() -> None:
    (line,) = parse_policy("\n\ng, bob, role:x\n", source="serve.yaml", first_line=12)
    assert line.source == "serve.yaml:14"


ERRORS = [
    (
        "p, a, widgets, get, *, allow",
        "resource",
        "unknown resource 'widgets'; known resources: applications,",
    ),
    (
        "p, a, accounts, sync, *, allow",
        "action",
        "'sync' is not valid for accounts; valid actions: get, update",
    ),
    ("p, a, logs, action/*, *, allow", "action", "not valid for logs"),
    ("p, a, applications, get, *, maybe", "effect", "must be allow or deny, not 'maybe'"),
    ("p, a, applications, get, *", None, "a p line has 6 fields"),
    ("p, a, applications, get, *, allow, extra", None, "found 7"),
    ("g, alice", None, "a g line has 3 fields"),
    ("g, alice, role:x, domain", None, "found 4"),
    ("x, a, b", None, "unknown line kind 'x'"),
    ("p, , applications, get, *, allow", "subject", "must not be empty"),
    ("g, alice, ", "role", "must not be empty"),
    ("p, a, applications, get, proj/[x, allow", "object", "not a valid glob"),
    ('p, "a, applications, get, *, allow', None, "not a CSV line"),
]


@pytest.mark.parametrize(("row", "field", "reason"), ERRORS)
def test_refused_lines(row: str, field: str | None, reason: str) -> None:
    text = f"# header\ng, ok, role:ok\n{row}\n"
    with pytest.raises(SpecError) as caught:
        parse_policy(text, source="rbac/policy.csv")
    message = str(caught.value)
    assert message.startswith("rbac/policy.csv:3: ")
    assert reason in message
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("#" * (1024 * 1024 + 1), "larger than 1048576 bytes"),
        ("\n" * 20_001, "more than 20000 lines"),
    ],
)
def test_bounds(text: str, reason: str) -> None:
    with pytest.raises(SpecError, match=reason):
        parse_policy(text, source="big.csv")


def test_builtin_policy() -> None:
    grants = [line for line in BUILTIN_POLICY if line.kind == "p"]
    readonly = {(line.fields[1], line.fields[2]) for line in grants if line.subject == "role:readonly"}
    assert readonly == {(name, "get") for name, acts in RESOURCES.items() if "get" in acts} | {
        ("pipelineruns", "logs")
    }
    admin = {line.fields[1:] for line in grants if line.subject == "role:admin"}
    assert admin == {(name, "*", "*", "allow") for name in RESOURCES}
    assert PolicyLine("g", ("admin", "role:admin"), "builtin-policy.csv:27") in BUILTIN_POLICY
    assert parse_policy(BUILTIN_POLICY_CSV, source="builtin-policy.csv") == BUILTIN_POLICY
    assert role_names(BUILTIN_POLICY) == {"role:readonly", "role:admin"}
