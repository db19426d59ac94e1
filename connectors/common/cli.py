"""The standalone command line every connector shares (`python -m connectors.<system>`).

Options come from the system's declaration in `cdp/systems.py`: each non-secret argument of its dlt
source is an option defaulting to the setting's environment variable (`--base-url`, default
`$RETAILCRM_BASE_URL`). The secret has no option: an argument is visible to every user of the
machine in `ps` and stays in shell history, so it is read from the setting's variable
(`RETAILCRM_API_KEY`, the one Dagster reads) or from a file named with `--api-key-file` (a mounted
secret, a file only the runner can read). The sources themselves still take every value as an
argument and never read the environment; this module is an entry point, like Dagster's resources.

A failed run ends with one line naming the system and the reason (an `AuthError` says which
setting to check), not a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import dlt

from cdp.memory import duckdb_destination
from cdp.systems import System, system
from connectors.common.http import SourceError

SECRET_FILE_OPTION = "--api-key-file"
# Words of an option that would take a secret (`--api-key`, `--password`, `--access-token`,
# `--webhook-code`): such an option is refused by name, and argparse never gets to echo the value.
SECRET_WORDS = ("key", "pass", "token", "secret", "code", "auth")


def _option(arg: str) -> str:
    return "--" + arg.replace("_", "-")


def _secret_arg(declared: System) -> str | None:
    return next((arg for arg, s in declared.settings.items() if s.secret), None)


def add_settings(parser: argparse.ArgumentParser, system_name: str) -> None:
    """An option per non-secret setting (default: its variable, then its declared default;
    required when neither), and `--api-key-file` when the system has a secret."""
    declared = system(system_name)
    for arg, setting in declared.settings.items():
        if setting.secret:
            parser.add_argument(SECRET_FILE_OPTION, dest="secret_file", metavar="PATH",
                                help=f"a file holding {setting.help} (default: the variable {setting.env}); "
                                     "the secret itself is never an argument")
            continue
        default = os.environ.get(setting.env) or setting.default
        parser.add_argument(_option(arg), dest=arg, default=default, required=default is None,
                            help=f"{setting.help} (default: ${setting.env}".replace("%", "%%")
                                 + (f", else {setting.default})" if setting.default else ")"))
    parser.set_defaults(system_name=system_name)


class SecretMissing(ValueError):
    """No secret, or an unreadable file: the message names the variable and the option."""


def secret_env(system_name: str | None) -> str | None:
    """The variable holding a system's secret (`RETAILCRM_API_KEY`), None without one."""
    if not system_name:
        return None
    declared = system(system_name)
    arg = _secret_arg(declared)
    return declared.settings[arg].env if arg else None


def read_secret(system_name: str, secret_file: str | None) -> str:
    """The system's secret: from `--api-key-file` when given (an explicit choice wins), else from
    its variable. A file's trailing line break and a leading BOM (Notepad) are not part of it."""
    declared = system(system_name)
    arg = _secret_arg(declared)
    if arg is None:
        raise SecretMissing(f"{declared.title} takes no secret")
    setting = declared.settings[arg]
    if secret_file:
        try:
            text = Path(secret_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            # The path is not echoed: a secret typed where the path belongs would show here.
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SecretMissing(f"{declared.title}: cannot read the file given with {SECRET_FILE_OPTION} "
                                f"({reason})") from None
        value = text.removeprefix("\ufeff").rstrip("\r\n")
        if not value:
            raise SecretMissing(f"{declared.title}: the file given with {SECRET_FILE_OPTION} is empty")
        return value
    value = os.environ.get(setting.env, "")
    if not value:
        raise SecretMissing(f"{declared.title}: {setting.env} is not set and no {SECRET_FILE_OPTION} was given "
                            f"(it holds {setting.help})")
    return value


def source_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The dlt source's keyword arguments from parsed options and the secret."""
    declared = system(args.system_name)
    values = {arg: getattr(args, arg) for arg, s in declared.settings.items() if not s.secret}
    secret = _secret_arg(declared)
    if secret:
        values[secret] = read_secret(args.system_name, args.secret_file)
    return values


def _parsers(ap: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    subs = [a for a in ap._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    return [ap, *(p for sub in subs for p in sub.choices.values())]


def refuse_secret_options(ap: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Stop at any option that looks like it takes a secret (`--api-key`, `--password`, an
    abbreviation of either), naming only the option: argparse's own "unrecognized arguments"
    would print the secret after it."""
    known = {o for p in _parsers(ap) for a in p._actions for o in a.option_strings}  # noqa: SLF001
    for token in argv:
        name = token.split("=", 1)[0].lower()
        secret_like = any(w in name for w in SECRET_WORDS) or any(
            o.startswith(name) for o in ("--api-key", "--apikey", "--password", "--access-token", "--token"))
        if name.startswith("--") and len(name) > 2 and name not in known and secret_like:
            envs = sorted({env for p in _parsers(ap) if (env := secret_env(p.get_default("system_name")))})
            where = " / ".join(envs) or "the system's *_API_KEY variable"
            ap.error(f"{name} is not accepted: a secret on the command line is visible to every user in ps. "
                     f"Set {where} or give {SECRET_FILE_OPTION} PATH (see --help)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # argparse repeats stray arguments; one of them may be a secret typed the old way.
        if message.startswith("unrecognized arguments"):
            message = "unrecognized arguments (not repeated here: one may be a secret); see --help"
        super().error(message)


def parser(prog: str, description: str, duckdb: bool = True) -> argparse.ArgumentParser:
    """A parser with no prefix matching (`--api-key` must not pass as a prefix of `--api-key-file`,
    turning a secret into a path), and `--duckdb` unless its subcommands take it."""
    ap = _Parser(prog=prog, description=description, allow_abbrev=False,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    if duckdb:
        add_duckdb(ap)
    return ap


def add_duckdb(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--duckdb", default="data/warehouse.duckdb", help="the DuckDB file to load into")


def parse(ap: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    refuse_secret_options(ap, argv)
    args = ap.parse_args(argv)
    try:
        args.source_kwargs = source_arguments(args)
    except SecretMissing as exc:
        ap.error(str(exc))
    return args


def connector_error(exc: BaseException) -> SourceError | None:
    """The connector's own error inside dlt's `PipelineStepFailed` wrapping, if there is one."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SourceError):
            return exc
        exc = exc.__cause__ or getattr(exc, "exception", None) or exc.__context__
    return None


def command_line_pipeline(name: str, path: str) -> dlt.Pipeline:
    """Pipeline `<name>` into dataset `raw_<name>` of the file at `path`, DuckDB held to the same
    memory budget as under Dagster."""
    return dlt.pipeline(name, destination=duckdb_destination(path), dataset_name=f"raw_{name}")


def run(args: argparse.Namespace, source_factory: Callable[..., Any], extra: dict[str, Any] | None = None) -> int:
    """Load the source into `args.duckdb` (pipeline `<system>`, dataset `raw_<system>`); a
    connector error becomes one line on stderr and exit status 1."""
    pipeline = command_line_pipeline(args.system_name, args.duckdb)
    try:
        print(pipeline.run(source_factory(**args.source_kwargs, **(extra or {})), loader_file_format="parquet"))
    except Exception as exc:  # noqa: BLE001 - only the connector's own errors are shortened
        cause = connector_error(exc)
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        return 1
    return 0
