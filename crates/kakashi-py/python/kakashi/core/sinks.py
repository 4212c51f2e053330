"""Kakashi 0.2.2's basic sinks (``FileSink``, ``ConsoleSink``,
``RotatingFileSink``, ``NullSink``) as writers of the engine.

A sink is a pipeline writer: put it in ``PipelineConfig(writers=(sink,))``
and the pipeline runs the engine's writer inside it (without the
interpreter lock). ``sink.write(message)`` writes one line now, as the
original's did, and returns a ``SinkResult``. Unlike the original,
``RotatingFileSink`` really writes and rotates (the original wrote nothing
and reported success), and a failed write is ``SinkResult.ERROR``, never a
reported success. The network, buffered and conditional sinks and the sink
pipelines are not provided (see ``kakashi.core``).
"""

from __future__ import annotations

import enum
import os
from typing import Any, Dict, Optional, Union

from kakashi import _kakashi

__all__ = ["Sink", "SinkResult", "FileSink", "ConsoleSink", "RotatingFileSink", "NullSink"]

_UTF8 = ("utf-8", "utf8", "utf_8")


class SinkResult(enum.Enum):
    """What a ``write`` did."""

    SUCCESS = "success"
    ERROR = "error"
    RETRY = "retry"
    FILTERED = "filtered"


class Sink:
    """A named destination around one of the engine's writers (attribute
    ``_kakashi_writer``, which a pipeline runs directly)."""

    def __init__(self, name: str, writer: Any) -> None:
        self.name = name
        self._kakashi_writer = writer
        self._sent = 0
        self._failed = 0
        self._bytes = 0
        self._last_error: Optional[str] = None

    def write(self, message: str, record: Any = None) -> SinkResult:
        """Writes ``message`` and a newline now (on the calling thread);
        ``SinkResult.ERROR`` if the write failed."""
        try:
            self._kakashi_writer(message)
        except (OSError, ValueError) as e:
            self._failed += 1
            self._last_error = str(e)
            return SinkResult.ERROR
        self._sent += 1
        self._bytes += len(message.encode("utf-8", "replace")) + 1
        return SinkResult.SUCCESS

    def __call__(self, message: str) -> None:
        """A writer's signature: writes ``message``, raising ``OSError`` on failure."""
        self._kakashi_writer(message)

    def flush(self) -> None:
        """Nothing to do: every ``write`` reaches the operating system before it returns."""

    def close(self) -> None:
        """Nothing to do: the file closes when the sink and every pipeline using it are gone."""

    def get_stats(self) -> Dict[str, Any]:
        """Counts of this sink's own ``write`` calls (writes made by a
        pipeline are in ``get_async_stats()["writers"]``)."""
        total = self._sent + self._failed
        return {
            "name": self.name,
            "messages_sent": self._sent,
            "messages_failed": self._failed,
            "bytes_sent": self._bytes,
            "last_error": self._last_error,
            "error_rate": self._failed / total if total else 0.0,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._kakashi_writer!r}>"


def _check_encoding(encoding: str) -> None:
    if str(encoding).lower() not in _UTF8:
        raise ValueError(f"kakashi writes UTF-8; encoding={encoding!r} is not supported")


class FileSink(Sink):
    """Appends lines to ``file_path`` (opened now; ``OSError`` if it cannot
    be). ``append=False`` empties the file first; ``create_dirs=False``
    requires the directory to exist."""

    def __init__(
        self,
        name: str,
        file_path: Union[str, "os.PathLike[str]"],
        encoding: str = "utf-8",
        create_dirs: bool = True,
        append: bool = True,
    ) -> None:
        _check_encoding(encoding)
        path = os.fspath(file_path)
        parent = os.path.dirname(os.path.abspath(path))
        if not create_dirs and not os.path.isdir(parent):
            raise FileNotFoundError(f"directory {parent!r} does not exist (create_dirs=False)")
        if not append:
            os.makedirs(parent, exist_ok=True)
            open(path, "w").close()
        super().__init__(name, _kakashi.file_writer(path))
        self.file_path = path


class RotatingFileSink(Sink):
    """A file that rotates by size (``rotation_type="size"``, at
    ``max_bytes``) or daily at 00:00 UTC (``"time"``), keeping the newest
    ``backup_count`` rotated files. Rotated files are named
    ``app.<UTC time>.<n>.log``, not ``app.log.1`` (see the README's "Log files
    that manage themselves")."""

    def __init__(
        self,
        name: str,
        file_path: Union[str, "os.PathLike[str]"],
        max_bytes: int = 100 * 1024 * 1024,
        backup_count: int = 10,
        encoding: str = "utf-8",
        rotation_type: str = "size",
    ) -> None:
        _check_encoding(encoding)
        if rotation_type == "size":
            rotation: Any = max_bytes
        elif rotation_type == "time":
            rotation = "daily"
        else:
            raise ValueError(f'unknown rotation_type "{rotation_type}"; expected size or time')
        path = os.fspath(file_path)
        super().__init__(name, _kakashi.file_writer(path, rotation=rotation, retention=backup_count))
        self.file_path = path


class ConsoleSink(Sink):
    """Standard output (``stream="stdout"``) or standard error (``"stderr"``)."""

    def __init__(self, name: str, stream: str = "stdout", flush: bool = True) -> None:
        writers = {"stdout": _kakashi.console_writer, "stderr": _kakashi.stderr_writer}
        if stream not in writers:
            raise ValueError(f'unknown stream "{stream}"; expected stdout or stderr')
        super().__init__(name, writers[stream])
        self.stream = stream


class NullSink(Sink):
    """Discards."""

    def __init__(self, name: str = "null") -> None:
        super().__init__(name, _kakashi.null_writer)
