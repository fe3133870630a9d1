"""What ``showcase config generate`` is asked to do, as one frozen object.

The same :class:`GenerateOptions` comes from the command line (:func:`options_from_args`),
from the index tenant's environment (:meth:`GenerateOptions.from_env`: the admin app
regenerates in-process after each change) and goes back out as the ``server.ready`` hook's
command line (:meth:`GenerateOptions.to_args`), so all three produce the same files.
Paths are made absolute once, here.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

import attrs

from showcase.config.values import normalize_listen, normalize_root_path

ENV_INDEX = "SHOWCASE_DB"
ENV_DB_DIR = "SHOWCASE_DB_DIR"
ENV_OUT = "SHOWCASE_CONFIG_OUT"
ENV_REGION = "SHOWCASE_REGION"
ENV_ROOT_PATH = "SHOWCASE_ROOT_PATH"
ENV_LISTEN = "SHOWCASE_LISTEN"
ENV_PUBLIC_DIR = "SHOWCASE_PUBLIC_DIR"
ENV_APPLIANCE_APP = "SHOWCASE_APPLIANCE_APP"
ENV_PRINT_TOKEN_FILE = "SHOWCASE_PRINT_TOKEN_FILE"
ENV_BACKUP = "SHOWCASE_BACKUP"


def _absolute(path: str) -> str:
    return os.path.abspath(path)


def _optional_absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _optional_text(value: str | None) -> str | None:
    return value or None


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
    root_path: str = attrs.field(default="/showcase", converter=normalize_root_path)
    listen: str = attrs.field(default="tcp:9999", converter=normalize_listen)
    public_dir: str = attrs.field(default="public", converter=_absolute)
    appliance_app: str | None = attrs.field(default=None, converter=_optional_text)
    print_token_file: str | None = attrs.field(default=None, converter=_optional_absolute)
    backup: bool = False

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

    def to_env(self) -> dict[str, str]:
        """The index tenant's environment: everything :meth:`from_env` needs."""
        env = {
            ENV_INDEX: self.index,
            ENV_DB_DIR: self.db_dir,
            ENV_OUT: self.out,
            ENV_REGION: self.region or "",
            ENV_ROOT_PATH: self.root_path,
            ENV_LISTEN: self.listen,
            ENV_PUBLIC_DIR: self.public_dir,
        }
        if self.appliance_app:
            env[ENV_APPLIANCE_APP] = self.appliance_app
        if self.print_token_file:
            env[ENV_PRINT_TOKEN_FILE] = self.print_token_file
        if self.backup:
            env[ENV_BACKUP] = "1"
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GenerateOptions:
        """The options the index tenant was started with (see :meth:`to_env`); keys that are
        missing take the command line's defaults.  Raises ValueError for a bad value."""
        db_dir = env.get(ENV_DB_DIR) or "db"
        return cls(
            db_dir=db_dir,
            out=env.get(ENV_OUT) or "config",
            index=env.get(ENV_INDEX) or os.path.join(db_dir, "index.sqlite3"),
            region=env.get(ENV_REGION),
            root_path=env.get(ENV_ROOT_PATH, "/showcase"),
            listen=env.get(ENV_LISTEN) or "tcp:9999",
            public_dir=env.get(ENV_PUBLIC_DIR) or "public",
            appliance_app=env.get(ENV_APPLIANCE_APP),
            print_token_file=env.get(ENV_PRINT_TOKEN_FILE),
            backup=env.get(ENV_BACKUP, "") not in ("", "0"),
        )

    def to_args(self) -> list[str]:
        """``config generate …`` arguments that make these same options (``--region ''``
        says "no region" explicitly, so ``$FLY_REGION`` cannot creep in)."""
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
            "--root-path",
            self.root_path,
            "--listen",
            self.listen,
            "--public-dir",
            self.public_dir,
        ]
        if self.appliance_app:
            args += ["--appliance-app", self.appliance_app]
        if self.print_token_file:
            args += ["--print-token-file", self.print_token_file]
        if self.backup:
            args.append("--backup")
        return args


def options_from_args(args: argparse.Namespace) -> GenerateOptions:
    """The options of a parsed ``config generate`` command line; ValueError if bad."""
    return GenerateOptions(
        db_dir=args.db_dir,
        out=args.out,
        index=args.index or os.path.join(args.db_dir, "index.sqlite3"),
        region=args.region,
        root_path=args.root_path,
        listen=args.listen,
        public_dir=args.public_dir,
        appliance_app=args.appliance_app,
        print_token_file=args.print_token_file,
        backup=args.backup,
    )
