"""Every connector's command line (`python -m connectors.<system>`), run as a real process against
its emulator over loopback: the secret is read from the variable `cdp/systems.py` declares or from
`--api-key-file`, never taken as an argument (it would show in `ps`), and a wrong one ends the run
with one line that names the system and the setting to check and does not contain the secret."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from functools import partial
from pathlib import Path

import duckdb
import pytest

from cdp.systems import SYSTEMS
from emulators.amocrm import AmoCRMEmulator
from emulators.bitrix24 import Bitrix24Emulator
from emulators.onec import OneCEmulator
from emulators.retailcrm import RetailCRMEmulator
from emulators.sendsay import SendsayEmulator
from emulators.unisender import UnisenderEmulator

ROOT = Path(__file__).resolve().parents[2]
KEY = "demo-key"
WRONG = "Wr0ng-S3cret-Value"
# system -> (the command after `python -m`, emulator, the path the emulator serves the API under,
# a table the run must fill)
COMMANDS = {
    "retailcrm": (["connectors.retailcrm"], RetailCRMEmulator, "", "customers"),
    "onec": (["connectors.onec", "odata"], OneCEmulator, "/trade", "counterparties"),
    "amocrm": (["connectors.amocrm"], AmoCRMEmulator, "", "contacts"),
    "bitrix24": (["connectors.bitrix24"], Bitrix24Emulator, "", "contacts"),
    "sendsay": (["connectors.sendsay"], SendsayEmulator, "", "members"),
    "unisender": (["connectors.unisender"], UnisenderEmulator, "", "campaigns"),
}
SECRET_VALUE_OPTIONS = {"--api-key", "--apikey", "--password", "--passwd", "--token", "--access-token",
                        "--secret", "--webhook-code", "--code"}


def test_every_system_with_a_secret_has_a_command_line_here():
    with_secret = {name for name, s in SYSTEMS.items() if any(v.secret for v in s.settings.values())}
    assert with_secret == set(COMMANDS)


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without any of the systems' variables, plus `extra`."""
    declared = {v.env for s in SYSTEMS.values() for v in s.settings.values()}
    return {**{k: v for k, v in os.environ.items() if k not in declared}, **extra}


def _cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _options(help_text: str) -> dict[str, bool]:
    """Each option in a `--help` listing -> whether it takes a value."""
    found = {}
    for match in re.finditer(r"^\s{2}(-\S.*?)(?:\s{2,}|$)", help_text, re.M):
        for spelling in match.group(1).split(", "):
            name, _, metavar = spelling.partition(" ")
            found[name] = bool(metavar)
    return found


def _secret_env(system: str) -> str:
    return next(v.env for v in SYSTEMS[system].settings.values() if v.secret)


def _main(command: list[str], argv: list[str], capsys) -> tuple[int, str, str]:
    """Run a command line in this process as `python -m` would, up to where it exits; for the
    answers given before any connection (help, refused options), a process each would be slow."""
    module, *sub = command
    old_argv = sys.argv
    sys.argv = [module, *sub, *argv]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        sys.argv = old_argv
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def no_settings(monkeypatch):
    """None of the systems' variables set, whatever the caller's environment holds."""
    for declared in SYSTEMS.values():
        for setting in declared.settings.values():
            monkeypatch.delenv(setting.env, raising=False)
    return monkeypatch


@pytest.mark.parametrize("system", COMMANDS)
def test_no_command_line_takes_a_secret_as_an_argument(system, no_settings, capsys):
    code, out, _ = _main(COMMANDS[system][0], ["--help"], capsys)
    assert code == 0
    options = _options(out)
    assert "--base-url" in options, out  # the listing was parsed
    assert not SECRET_VALUE_OPTIONS & set(options), f"{system} takes a secret as an argument: {options}"
    secret_like = {o for o, takes_value in options.items() if takes_value and re.search(r"key|pass|token|secret", o)}
    assert secret_like == {"--api-key-file"}, "the only secret option names a file"
    assert _secret_env(system) in out, "the help says which variable holds the secret"


@pytest.mark.parametrize("system", COMMANDS)
@pytest.mark.parametrize("spelling", ["--api-key", "--password={}", "--access-token", "--api-k", "--token"])
def test_the_old_secret_options_are_refused_without_echoing_the_value(system, spelling, no_settings, capsys):
    no_settings.setenv(_secret_env(system), KEY)
    flag = [spelling.format(WRONG)] if "=" in spelling else [spelling, WRONG]
    code, out, err = _main(COMMANDS[system][0], ["--base-url", "http://127.0.0.1:9", *flag], capsys)
    assert code == 2
    assert "visible to every user in ps" in err and _secret_env(system) in err
    assert WRONG not in out + err


@pytest.mark.parametrize("system", COMMANDS)
def test_a_stray_argument_is_not_echoed(system, no_settings, capsys):
    no_settings.setenv(_secret_env(system), KEY)
    code, out, err = _main(COMMANDS[system][0], ["--base-url", "http://127.0.0.1:9", WRONG], capsys)
    assert code == 2 and "unrecognized arguments" in err and WRONG not in out + err


@pytest.mark.parametrize("system", COMMANDS)
def test_a_missing_secret_names_the_variable_and_the_file_option(system, no_settings, capsys, tmp_path):
    code, _, err = _main(COMMANDS[system][0], ["--base-url", "http://127.0.0.1:9"], capsys)
    assert code == 2 and f"{_secret_env(system)} is not set and no --api-key-file was given" in err
    (tmp_path / "empty").write_text("\n")
    code, _, err = _main(COMMANDS[system][0], ["--base-url", "http://127.0.0.1:9", "--api-key-file",
                                               str(tmp_path / "empty")], capsys)
    assert code == 2 and "the file given with --api-key-file is empty" in err
    code, _, err = _main(COMMANDS[system][0], ["--base-url", "http://127.0.0.1:9", "--api-key-file", WRONG], capsys)
    assert code == 2 and "cannot read the file given with --api-key-file" in err and WRONG not in err


@pytest.fixture()
def serve(demo_data):
    servers = []

    def start(system: str) -> tuple[object, str]:
        emulator = COMMANDS[system][1](demo_data, api_key=KEY)
        server, url = emulator.serve_in_thread()
        servers.append(server)
        return emulator, url + COMMANDS[system][2]
    yield start
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize("system", COMMANDS)
def test_a_wrong_secret_fails_in_one_clear_line_and_the_right_one_from_a_file_loads(system, serve, no_settings,
                                                                                    capsys, tmp_path):
    emulator, url = serve(system)
    no_settings.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))  # pipeline state stays in the test's folder
    no_settings.setenv(_secret_env(system), WRONG)
    warehouse = tmp_path / "w.duckdb"
    code, out, err = _main(COMMANDS[system][0], ["--base-url", url, "--duckdb", str(warehouse)], capsys)
    assert code == 1, err[-2000:]
    [line] = err.splitlines()
    assert line.startswith(f"error: {SYSTEMS[system].title.split(' ')[0]} ") and "refused" in line, line
    assert url.split("/")[2] in line and _secret_env(system) in line, "names the address and the setting to check"
    assert WRONG not in out + err
    assert len(emulator.journal) <= 2, "a refused secret is not retried"  # Sendsay: REDIRECT, then the refusal

    key_file = tmp_path / "key"
    key_file.write_text(f"\ufeff{KEY}\n", encoding="utf-8")  # as Notepad or `echo` leave it
    key_file.chmod(0o600)
    code, out, err = _main(COMMANDS[system][0], ["--base-url", url, "--api-key-file", str(key_file),
                                                 "--duckdb", str(warehouse)], capsys)  # the file wins over the variable
    assert code == 0, err[-3000:]
    table = COMMANDS[system][3]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(f'select count(*) from raw_{system}."{table}"').fetchone()[0] > 0


def test_a_bitrix24_webhook_url_with_its_code_is_refused_as_an_argument_but_read_from_the_environment(serve, tmp_path):
    _, url = serve("bitrix24")
    whole = f"{url}/rest/1/{KEY}/"
    refused = _cli(["connectors.bitrix24", "--base-url", whole], _env())
    assert refused.returncode == 2 and "holds the webhook code" in refused.stderr and KEY not in refused.stderr
    warehouse = tmp_path / "w.duckdb"
    done = _cli(["connectors.bitrix24", "--duckdb", str(warehouse)],
                _env(BITRIX24_BASE_URL=whole, DLT_DATA_DIR=str(tmp_path / "dlt")))
    assert done.returncode == 0, done.stderr[-3000:]
