"""``twistd showcase``: options and the parts list of the service."""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.application.service import IService
from twisted.logger import ILogObserver
from twisted.python import usage

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class Options(usage.Options):
    synopsis = "[--config FILE] [--listen ENDPOINT]"
    longdesc = (
        "Run the showcase router: every event on this machine behind one front door. "
        "Without --config it serves an embedded demo on http://127.0.0.1:9999/."
    )
    optParameters = [
        ["config", "c", None, "router config file (YAML); default: the embedded demo"],
        ["listen", "l", None, "endpoint to listen on, overriding server.listen (e.g. tcp:8080)"],
    ]

    def postOptions(self) -> None:
        from showcase.config import ConfigError, load_config, parse_config

        if "twisted.internet.reactor" not in sys.modules and sys.platform.startswith("linux"):
            from showcase.reactor import install

            install()  # twistd chose no --reactor: use ours

        try:
            if self["config"] is None:
                path = os.path.join(DATA_DIR, "demo.yml")
                with open(path) as f:
                    self.loaded = parse_config(f.read(), "<embedded demo>", DATA_DIR)
            else:
                self.loaded = load_config(self["config"])
        except (ConfigError, OSError) as e:
            raise usage.UsageError(str(e)) from e


def makeService(options: Options) -> IService:
    from twisted.internet import reactor

    from showcase.machine import Machine

    config = options.loaded
    path = os.path.abspath(options["config"]) if options["config"] else None
    machine = Machine(reactor, config, path, options["listen"], _log_stream(options))
    if config.logging.format == "json":
        _install_json_logging(machine, options)
    return machine


def _log_stream(options: Options) -> Any:
    """Where access-log lines go: twistd's --logfile, else standard output."""
    parent_options = getattr(options, "parent", None)
    logfile = parent_options.get("logfile") if parent_options is not None else None
    if logfile and logfile != "-":
        return open(logfile, "a")
    return sys.stdout


def _install_json_logging(machine: Any, options: Options) -> None:
    """Make twistd log JSON lines: set the application's ILogObserver when it is created."""
    from showcase.logs import json_observer

    observer = json_observer(_log_stream(options))
    original = machine.setServiceParent

    def set_parent(parent: Any) -> Any:
        if hasattr(parent, "setComponent"):
            parent.setComponent(ILogObserver, observer)
        return original(parent)

    machine.setServiceParent = set_parent
