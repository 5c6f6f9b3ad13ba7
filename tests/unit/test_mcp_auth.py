"""MCP server building blocks without a server: the per-token rate limiter and the token → user → role lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.mcp.auth import caller_for_token, token_label
from connectors.mcp.rate_limit import RateLimiter
from salesbot.roles import user_for_mcp_token
from salesbot.yaml_files import ConfigFileError

MANAGER_TOKEN = "m" * 20
REP_TOKEN = "r-token-0123456789"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_refuses_past_the_window_and_forgets_after_sixty_seconds() -> None:
    clock = _Clock()
    limiter = RateLimiter(3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b"), "another token has its own window"
    clock.now += 59.9
    assert not limiter.allow("a"), "the window is sliding: 59.9 s later the first three calls still count"
    clock.now += 0.2
    assert limiter.allow("a"), "60 s after the first calls they no longer count"


def test_refused_calls_do_not_extend_the_window() -> None:
    clock = _Clock()
    limiter = RateLimiter(1, clock=clock)
    assert limiter.allow("a")
    for _ in range(50):
        clock.now += 1
        assert not limiter.allow("a")
    clock.now += 10.1  # 60.1 s after the one counted call
    assert limiter.allow("a")


def test_a_limit_of_zero_means_unlimited() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.allow("a") for _ in range(500))


def _roles_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "roles.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_token_lookup_maps_token_to_user_and_role(tmp_path: Path) -> None:
    roles = _roles_file(tmp_path, f"users:\n  u-mgr: manager\n  u-rep: rep\n"
                                  f"mcp_tokens:\n  {MANAGER_TOKEN}: u-mgr\n  {REP_TOKEN}: u-rep\n")
    assert user_for_mcp_token(MANAGER_TOKEN, roles) == "u-mgr"
    caller = caller_for_token(REP_TOKEN, roles, "rep")
    assert caller is not None and (caller.user_id, caller.role) == ("u-rep", "rep")
    assert REP_TOKEN not in caller.token_label and caller.token_label == token_label(REP_TOKEN)
    manager = caller_for_token(MANAGER_TOKEN, roles, "rep")
    assert manager is not None and manager.role == "manager"


@pytest.mark.parametrize("offered", ["", "m" * 19, "m" * 21, MANAGER_TOKEN.upper(), f" {MANAGER_TOKEN}"])
def test_near_misses_and_empty_tokens_are_unknown(tmp_path: Path, offered: str) -> None:
    roles = _roles_file(tmp_path, f"users:\n  u-mgr: manager\nmcp_tokens:\n  {MANAGER_TOKEN}: u-mgr\n")
    assert user_for_mcp_token(offered, roles) is None
    assert caller_for_token(offered, roles, "rep") is None


def test_no_roles_file_means_no_token_is_valid(tmp_path: Path) -> None:
    assert user_for_mcp_token(MANAGER_TOKEN, None) is None
    assert user_for_mcp_token(MANAGER_TOKEN, tmp_path / "missing.yaml") is None


def test_a_token_user_missing_from_users_gets_the_default_role(tmp_path: Path) -> None:
    roles = _roles_file(tmp_path, f"users:\n  u-mgr: manager\nmcp_tokens:\n  {REP_TOKEN}: partner-bot\n")
    caller = caller_for_token(REP_TOKEN, roles, "rep")
    assert caller is not None and (caller.user_id, caller.role) == ("partner-bot", "rep")


def test_short_tokens_are_refused_when_the_roles_file_loads(tmp_path: Path) -> None:
    roles = _roles_file(tmp_path, "users:\n  u-mgr: manager\nmcp_tokens:\n  short: u-mgr\n")
    with pytest.raises(ConfigFileError, match="16"):
        user_for_mcp_token("short", roles)
