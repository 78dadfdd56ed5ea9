"""Policy rules that follow their files, as oslo.policy's do.

``ReloadingEnforcer`` stats the policy file and the policy directories on each
request and rebuilds the rules when anything changed. A file that cannot be
used keeps the last good rules in force and logs one error per change: it
never stops the service. A worker that starts (or restarts on ``SIGHUP``)
while the file is broken uses the rules its server process last loaded.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from allotment.config import Settings
from allotment.http.policy import (
    Enforcer,
    PolicyFileError,
    policy_dir_files,
    resolve_policy_file,
)

LOG = logging.getLogger(__name__)

# The last rules this process built successfully; a forked worker inherits them.
_LAST_GOOD: dict[str, Enforcer] = {}

Signature = tuple[tuple[str, int, int], ...]


def _signature(settings: Settings) -> Signature:
    paths: list[Path] = []
    if settings.policy_file:
        paths.append(Path(os.path.expanduser(settings.policy_file)))
    for directory in settings.policy_dirs:
        paths.append(Path(os.path.expanduser(directory)))
    try:
        paths += policy_dir_files(settings)
    except OSError:
        pass
    found = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            found.append((str(path), -1, -1))
            continue
        found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _key(settings: Settings) -> str:
    return f"{settings.policy_file}|{settings.policy_dirs}"


def build(settings: Settings) -> Enforcer:
    """A new enforcer, remembered as the last good one of this process."""
    enforcer = Enforcer.from_settings(settings)
    _LAST_GOOD[_key(settings)] = enforcer
    return enforcer


class ReloadingEnforcer:
    """Behaves as the current ``Enforcer``; re-reads changed policy files."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._signature = _signature(settings)
        try:
            self._current = build(settings)
        except PolicyFileError as error:
            fallback = _LAST_GOOD.get(_key(settings))
            if fallback is None:
                raise
            LOG.error("%s; keeping the rules loaded before", error)
            self._current = fallback
        self._failed: Signature | None = None

    @property
    def current(self) -> Enforcer:
        self.refresh()
        return self._current

    def refresh(self) -> bool:
        """Rebuild if a file changed; True when new rules took effect."""
        if self._settings.policy_file is None and not self._settings.policy_dirs:
            return False
        signature = _signature(self._settings)
        if signature == self._signature:
            return False
        with self._lock:
            if signature == self._signature:
                return False
            self._signature = signature
            try:
                resolve_policy_file(self._settings)
                self._current = build(self._settings)
            except PolicyFileError as error:
                LOG.error("%s; keeping the last good policy rules", error)
                return False
            LOG.info("policy rules re-read")
            return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current, name)
