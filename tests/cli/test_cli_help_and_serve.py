"""Every command's --help lists the exit codes; `serve` checks its port before it announces anything."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from aitrack.cli import app, db_app
from contracts.exits import EXIT_CODES_HELP

runner = CliRunner()
COMMANDS = [[c.name or c.callback.__name__] for c in app.registered_commands] + [
    ["db", c.name or c.callback.__name__] for c in db_app.registered_commands
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_help_lists_the_exit_codes(command):
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.replace("│", " ").split())
    assert " ".join(EXIT_CODES_HELP.split()) in flat


def test_refresh_help_names_the_lock_exit_code():
    result = runner.invoke(app, ["refresh", "--help"], terminal_width=200)
    assert "3 locked by another run" in " ".join(result.output.replace("│", " ").split())


def test_serve_on_a_busy_port_fails_before_announcing(monkeypatch, engine, database_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", database_url)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use: stop the other server or pass --port"
    assert "serving on" not in result.output
