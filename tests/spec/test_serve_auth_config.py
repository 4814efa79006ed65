"""The ``auth`` and ``rbac`` keys of ``gitloop serve``'s configuration (gitloop.spec.serve_auth through
gitloop.spec.serveconfig.load): defaults, values read, the policy parsed at load, and each mistake
named with ``file:line`` and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.serve_auth import AuthConfig, RBACConfig
from gitloop.spec.serveconfig import ServeConfig, load

POLICY = "# team alpha\np, role:alpha, applications, sync, alpha/*, allow\ng, alice, role:alpha\n"


def _load(base: Path, text: str) -> ServeConfig:
    path = base / "serve.yaml"
    path.write_text(text)
    return load(path)


def test_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, "listen: 127.0.0.1:0\n")
    assert config.auth == AuthConfig(False, 86400.0, 5, 300.0)
    assert config.rbac == RBACConfig()


def test_auth_values(tmp_path: Path) -> None:
    text = (
        "auth:\n  anonymous: true\n  sessionDuration: 2h\n  maxLoginFailures: 3\n  loginFailureWindow: 1m\n"
    )
    assert _load(tmp_path, text).auth == AuthConfig(True, 7200.0, 3, 60.0)


def test_policy_file(tmp_path: Path) -> None:
    (tmp_path / "rbac").mkdir()
    (tmp_path / "rbac" / "policy.csv").write_text(POLICY)
    config = _load(tmp_path, "rbac:\n  policyFile: rbac/policy.csv\n  policyDefault: role:readonly\n")
    policy = tmp_path / "rbac" / "policy.csv"
    assert config.rbac.policy_file == policy
    assert config.rbac.policy_default == "role:readonly"
    assert [line.source for line in config.rbac.lines] == [f"{policy}:2", f"{policy}:3"]


def test_policy_csv_lines_are_the_config_files(tmp_path: Path) -> None:
    text = "listen: 127.0.0.1:0\nrbac:\n  policyDefault: role:alpha\n  policyCSV: |\n" + "".join(
        f"    {row}\n" for row in POLICY.splitlines()
    )
    config = _load(tmp_path, text)
    assert config.rbac.policy_csv == POLICY
    assert config.rbac.policy_default == "role:alpha"
    file = str(tmp_path / "serve.yaml")
    assert [line.source for line in config.rbac.lines] == [f"{file}:6", f"{file}:7"]
    inline = _load(tmp_path, "rbac:\n  policyCSV: 'g, bob, role:admin'\n")
    assert [line.source for line in inline.rbac.lines] == [f"{file}:2"]


ERRORS = [
    ("auth: {anonymous: yes please}\n", "serve.yaml:1: ServeConfig: auth.anonymous", "true or false"),
    ("auth:\n  sessionDuration: 0\n", "serve.yaml:2: ServeConfig: auth.sessionDuration", "more than 0"),
    ("auth:\n  sessionDuration: soon\n", "serve.yaml:2: ServeConfig: auth.sessionDuration", ""),
    ("auth:\n  maxLoginFailures: 0\n", "serve.yaml:2: ServeConfig: auth.maxLoginFailures", ">= 1"),
    ("auth:\n  loginFailureWindow: 0s\n", "auth.loginFailureWindow", "more than 0"),
    ("auth:\n  users: []\n", "serve.yaml:2: ServeConfig: auth.users", "unknown field 'users'"),
    ("rbac:\n  policy: x\n", "rbac.policy", "unknown field 'policy'"),
    ("rbac:\n  policyFile: missing.csv\n", "serve.yaml:2: ServeConfig: rbac.policyFile", "no such file"),
    (
        "rbac:\n  policyFile: p.csv\n  policyCSV: 'g, a, b'\n",
        "rbac.policyCSV",
        "either policyFile or policyCSV",
    ),
    ("rbac:\n  policyDefault: readonly\n", "serve.yaml:2: ServeConfig: rbac.policyDefault", "role name"),
    (
        "rbac:\n  policyDefault: role:reader\n",
        "rbac.policyDefault",
        "role:reader is not a role of the policy",
    ),
    (
        "rbac:\n  policyCSV: |\n    # ok\n    p, a, widgets, get, *, allow\n",
        "serve.yaml:4: resource:",
        "widgets",
    ),
    ("rbac:\n  policyFile: p.csv\n", "p.csv:2: effect:", "allow or deny"),
]


@pytest.mark.parametrize(("text", "where", "reason"), ERRORS)
def test_mistakes(tmp_path: Path, text: str, where: str, reason: str) -> None:
    (tmp_path / "p.csv").write_text("g, a, role:x\np, a, logs, get, *, allowed\n")
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, text)
    assert where in str(caught.value) and reason in str(caught.value)


def test_oversized_policy_file_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_text("#" * (1024 * 1024 + 10))
    with pytest.raises(SpecError, match=r"rbac.policyFile: .*big.csv is larger than 1048576 bytes"):
        _load(tmp_path, "rbac:\n  policyFile: big.csv\n")
