"""What ``showcase config generate`` is asked to do, as one frozen object.

The same :class:`GenerateOptions` comes from the command line (:func:`options_from_args`),
from the index tenant's environment (:meth:`GenerateOptions.from_env`: the admin app
regenerates in-process after each change) and goes back out as the ``server.ready`` hook's
command line (:meth:`GenerateOptions.to_args`), so all three produce the same files.
Paths are made absolute once, here; options that do not fit together are a ValueError.

The options that switch features on (:data:`EXTRAS`) are written to the environment and
the command line only when they differ from their default; ``region`` and ``fly_app``,
whose command-line defaults come from ``$FLY_REGION`` and ``$FLY_APP_NAME``, always are.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from showcase.config.values import normalize_listen, normalize_root_path, parse_duration

from .generate import DEFAULT_BACKUP_PORT, DEFAULT_BACKUP_USER, DEFAULT_IDLE_TIMEOUT, IDLE_ACTIONS

ENV_INDEX = "SHOWCASE_DB"
ENV_DB_DIR = "SHOWCASE_DB_DIR"
ENV_OUT = "SHOWCASE_CONFIG_OUT"
ENV_REGION = "SHOWCASE_REGION"
ENV_FLY_APP = "SHOWCASE_FLY_APP"
ENV_ROOT_PATH = "SHOWCASE_ROOT_PATH"
ENV_LISTEN = "SHOWCASE_LISTEN"
ENV_PUBLIC_DIR = "SHOWCASE_PUBLIC_DIR"
ENV_APPLIANCE_APP = "SHOWCASE_APPLIANCE_APP"
ENV_PRINT_TOKEN_FILE = "SHOWCASE_PRINT_TOKEN_FILE"
ENV_BACKUP = "SHOWCASE_BACKUP"

BACKUP_PASSWORD_FILE = "rsync.password"
"""In the backup secrets directory: our password at the peers' rsync daemons."""
BACKUP_USERS_FILE = "rsyncd.secrets"
"""In the backup secrets directory: the ``user:password`` lines our rsync daemon accepts."""
RSYNC_USER = re.compile(r"[A-Za-z0-9._-]+")


@attrs.frozen
class Extra:
    """An option the index tenant's env and the ready hook's command line carry only when
    it is not its default: ``name`` is the :class:`GenerateOptions` attribute and the
    argparse dest."""

    name: str
    env: str
    flag: str


EXTRAS = (
    Extra("appliance_app", ENV_APPLIANCE_APP, "--appliance-app"),
    Extra("print_token_file", ENV_PRINT_TOKEN_FILE, "--print-token-file"),
    Extra("backup", ENV_BACKUP, "--backup"),
    Extra("backup_user", "SHOWCASE_BACKUP_USER", "--backup-user"),
    Extra("backup_port", "SHOWCASE_BACKUP_PORT", "--backup-port"),
    Extra("backup_secrets", "SHOWCASE_BACKUP_SECRETS", "--backup-secrets"),
    Extra("idle", "SHOWCASE_IDLE", "--idle"),
    Extra("idle_timeout", "SHOWCASE_IDLE_TIMEOUT", "--idle-timeout"),
    Extra("appliance_config", "SHOWCASE_APPLIANCE_CONFIG", "--appliance-config"),
    Extra("logger_url", "SHOWCASE_LOGGER_URL", "--logger-url"),
    Extra("logger_secret_file", "SHOWCASE_LOGGER_SECRET_FILE", "--logger-secret-file"),
    Extra("logger_buffer_dir", "SHOWCASE_LOGGER_BUFFER_DIR", "--logger-buffer-dir"),
)


def _absolute(path: str) -> str:
    return os.path.abspath(path)


def _optional_absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _optional_text(value: str | None) -> str | None:
    return value or None


def _stripped(value: str) -> str:
    return value.strip()


def _port(value: int | str) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"--backup-port {value!r} is not a port number (1-65535)")
    return int(text)


def _flag(value: bool | str) -> bool:
    """A switch; from the environment ``""`` and ``"0"`` are off."""
    if isinstance(value, str):
        return value.strip() not in ("", "0")
    return value


def _index_default(options: GenerateOptions) -> str:
    return os.path.join(options.db_dir, "index.sqlite3")


@attrs.frozen(kw_only=True)
class GenerateOptions:
    """Where to read and write, and for which machine.  ``region`` None: every event is
    served here and nothing is replayed.  Relative paths are made absolute against the
    current directory when the object is made."""

    db_dir: str = attrs.field(default="db", converter=_absolute)
    out: str = attrs.field(default="config", converter=_absolute)
    index: str = attrs.field(
        default=attrs.Factory(_index_default, takes_self=True), converter=_absolute
    )
    region: str | None = attrs.field(default=None, converter=_optional_text)
    fly_app: str | None = attrs.field(default=None, converter=_optional_text)
    root_path: str = attrs.field(default="/showcase", converter=normalize_root_path)
    listen: str = attrs.field(default="tcp:9999", converter=normalize_listen)
    public_dir: str = attrs.field(default="public", converter=_absolute)
    appliance_app: str | None = attrs.field(default=None, converter=_optional_text)
    print_token_file: str | None = attrs.field(default=None, converter=_optional_absolute)
    backup: bool = attrs.field(default=False, converter=_flag)
    backup_user: str = DEFAULT_BACKUP_USER
    backup_port: int = attrs.field(default=DEFAULT_BACKUP_PORT, converter=_port)
    backup_secrets: str | None = attrs.field(default=None, converter=_optional_absolute)
    idle: str | None = attrs.field(default=None, converter=_optional_text)
    idle_timeout: str = attrs.field(default=DEFAULT_IDLE_TIMEOUT, converter=_stripped)
    appliance_config: bool = attrs.field(default=False, converter=_flag)
    logger_url: str | None = attrs.field(default=None, converter=_optional_text)
    logger_secret_file: str | None = attrs.field(default=None, converter=_optional_absolute)
    logger_buffer_dir: str | None = attrs.field(default=None, converter=_optional_absolute)

    def __attrs_post_init__(self) -> None:
        problem = self._problem()
        if problem is not None:
            raise ValueError(problem)

    def _problem(self) -> str | None:
        """What makes these options unusable, if anything."""
        if self.idle is not None and self.idle not in IDLE_ACTIONS:
            return f"--idle {self.idle!r}: choose suspend or stop"
        try:
            if parse_duration(self.idle_timeout) <= 0:
                return "--idle-timeout must be longer than 0"
        except ValueError as error:
            return f"--idle-timeout: {error}"
        if not RSYNC_USER.fullmatch(self.backup_user):
            return f"--backup-user {self.backup_user!r}: letters, digits, '.', '_' and '-' only"
        if self.backup and not self.region:
            return "--backup needs --region: a backup pushes the databases of this region"
        if self.backup and not self.fly_app:
            return "--backup needs --fly-app (default $FLY_APP_NAME): it names the peers"
        if self.appliance_config:
            if not self.fly_app:
                return "--appliance-config needs --fly-app (default $FLY_APP_NAME)"
            if not self.print_token_file:
                return "--appliance-config needs --print-token-file (the appliance's token)"
            if self.internal_port is None:
                return f"--appliance-config needs a TCP --listen port, not {self.listen!r}"
        if self.logger_url is not None and not self.logger_url.startswith(("http://", "https://")):
            return f"--logger-url {self.logger_url!r} is not an http(s) URL"
        if self.logger_url is None and (self.logger_secret_file or self.logger_buffer_dir):
            return "--logger-secret-file and --logger-buffer-dir need --logger-url"
        return None

    @property
    def showcases_path(self) -> str:
        return os.path.join(self.db_dir, "showcases.yml")

    @property
    def htpasswd_path(self) -> str:
        return os.path.join(self.out, "htpasswd")

    @property
    def config_path(self) -> str:
        return os.path.join(self.out, "showcase.yml")

    @property
    def maintenance_path(self) -> str:
        return os.path.join(self.out, "maintenance.yml")

    @property
    def appliance_path(self) -> str:
        return os.path.join(self.out, "appliance.yml")

    @property
    def backup_password_file(self) -> str:
        return os.path.join(self.backup_secrets or self.out, BACKUP_PASSWORD_FILE)

    @property
    def backup_users_file(self) -> str:
        return os.path.join(self.backup_secrets or self.out, BACKUP_USERS_FILE)

    @property
    def logger_buffer_path(self) -> str:
        """``logging.logger.buffer_dir``: by default ``log/buffer`` beside the db directory."""
        default = os.path.join(os.path.dirname(self.db_dir), "log", "buffer")
        return self.logger_buffer_dir or default

    @property
    def internal_port(self) -> int | None:
        """The TCP port of ``listen``: where the machines reach each other's routers."""
        from showcase.router.replay import listen_port

        return listen_port(self.listen)

    def referenced_files(self) -> list[tuple[str, str]]:
        """``(what, path)`` of the files the generated configs name but nobody generates."""
        files = []
        if self.print_token_file:
            files.append(("print token file", self.print_token_file))
        if self.backup:
            files.append(("backup password file", self.backup_password_file))
            files.append(("backup users file", self.backup_users_file))
        return files

    def _extras(self) -> Iterator[tuple[Extra, Any]]:
        """The extras that are not their defaults, with their values."""
        fields = attrs.fields_dict(type(self))
        for extra in EXTRAS:
            value = getattr(self, extra.name)
            if value != fields[extra.name].default:
                yield extra, value

    def to_env(self) -> dict[str, str]:
        """The index tenant's environment: everything :meth:`from_env` needs."""
        env = {
            ENV_INDEX: self.index,
            ENV_DB_DIR: self.db_dir,
            ENV_OUT: self.out,
            ENV_REGION: self.region or "",
            ENV_FLY_APP: self.fly_app or "",
            ENV_ROOT_PATH: self.root_path,
            ENV_LISTEN: self.listen,
            ENV_PUBLIC_DIR: self.public_dir,
        }
        for extra, value in self._extras():
            env[extra.env] = "1" if value is True else str(value)
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GenerateOptions:
        """The options the index tenant was started with (see :meth:`to_env`); keys that are
        missing take the command line's defaults.  Raises ValueError for a bad value."""
        db_dir = env.get(ENV_DB_DIR) or "db"
        extras: dict[str, Any] = {e.name: env[e.env] for e in EXTRAS if env.get(e.env)}
        return cls(
            db_dir=db_dir,
            out=env.get(ENV_OUT) or "config",
            index=env.get(ENV_INDEX) or os.path.join(db_dir, "index.sqlite3"),
            region=env.get(ENV_REGION),
            fly_app=env.get(ENV_FLY_APP),
            root_path=env.get(ENV_ROOT_PATH, "/showcase"),
            listen=env.get(ENV_LISTEN) or "tcp:9999",
            public_dir=env.get(ENV_PUBLIC_DIR) or "public",
            **extras,
        )

    def to_args(self) -> list[str]:
        """``config generate …`` arguments that make these same options (``--region ''``
        and ``--fly-app ''`` say "none" explicitly, so ``$FLY_REGION`` and
        ``$FLY_APP_NAME`` cannot creep in)."""
        args = [
            "config",
            "generate",
            "--index",
            self.index,
            "--db-dir",
            self.db_dir,
            "--out",
            self.out,
            "--region",
            self.region or "",
            "--fly-app",
            self.fly_app or "",
            "--root-path",
            self.root_path,
            "--listen",
            self.listen,
            "--public-dir",
            self.public_dir,
        ]
        for extra, value in self._extras():
            args += [extra.flag] if value is True else [extra.flag, str(value)]
        return args


def options_from_args(args: argparse.Namespace) -> GenerateOptions:
    """The options of a parsed ``config generate`` command line; ValueError if bad.
    An extra left at None takes the default of :class:`GenerateOptions`."""
    extras = {e.name: getattr(args, e.name) for e in EXTRAS}
    return GenerateOptions(
        db_dir=args.db_dir,
        out=args.out,
        index=args.index or os.path.join(args.db_dir, "index.sqlite3"),
        region=args.region,
        fly_app=args.fly_app,
        root_path=args.root_path,
        listen=args.listen,
        public_dir=args.public_dir,
        **{name: value for name, value in extras.items() if value is not None},
    )
