"""read_file and write_file, confined to one workspace folder.

Every path is resolved with symlinks followed (``os.path.realpath``) and refused unless
the real path lies inside the real workspace, so ``..``, absolute paths elsewhere and
symlinks (to files or folders) pointing out of the workspace cannot escape it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from langchain_core.tools import BaseTool, StructuredTool

MAX_READ_BYTES = 100_000


def resolve_inside(workspace: Path, path: str) -> Path:
    """Return the real path of ``path`` (relative to ``workspace``) if it stays inside.

    Args:
        workspace: The folder to confine to; created if missing.
        path: A relative path, or an absolute one that lies inside the workspace.

    Raises:
        ValueError: If the path is empty or its real location is outside the workspace.
    """
    if not path or not path.strip():
        raise ValueError("path is empty")
    workspace.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(workspace))
    # realpath follows every symlink, including a dangling one at the end, so the check
    # below sees where a write would really land.
    target = Path(os.path.realpath(root / path))
    if target != root and not target.is_relative_to(root):
        raise ValueError(f"path {path!r} is outside the workspace; use a path inside it")
    return target


def _display(root: Path, target: Path) -> str:
    return target.relative_to(os.path.realpath(root)).as_posix()


def read_workspace_file(workspace: Path, path: str) -> str:
    """Read a UTF-8 text file inside ``workspace``, capped at ``MAX_READ_BYTES``.

    Raises:
        ValueError: If the path escapes the workspace.
        FileNotFoundError: If the file does not exist.
        IsADirectoryError: If the path is a folder.
    """
    target = resolve_inside(workspace, path)
    if not target.exists():
        raise FileNotFoundError(f"no file {path!r} in the workspace")
    if target.is_dir():
        raise IsADirectoryError(f"{path!r} is a folder, not a file")
    # O_NOFOLLOW: if the file was swapped for a symlink since resolve_inside checked
    # it, refuse rather than follow it out of the workspace.
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_READ_BYTES + 1)
        size = os.fstat(handle.fileno()).st_size
    text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
    if len(data) > MAX_READ_BYTES:
        text += f"\n[truncated: showing the first {MAX_READ_BYTES} of {size} bytes]"
    return text


def write_workspace_file(workspace: Path, path: str, content: str) -> str:
    """Write ``content`` atomically to a file inside ``workspace``.

    Raises:
        ValueError: If the path escapes the workspace or names the workspace itself.
        IsADirectoryError: If the path is an existing folder.
    """
    target = resolve_inside(workspace, path)
    if target == Path(os.path.realpath(workspace)) or target.is_dir():
        raise IsADirectoryError(f"{path!r} is a folder, not a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8")
    # Temp file + os.replace: readers never see a half-written file, and replace()
    # swaps the directory entry without following a symlink placed there meanwhile.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return f"Wrote {len(data)} bytes to {_display(workspace, target)}"


def make_file_tools(*, workspace: Path) -> list[BaseTool]:
    """Build the ``read_file`` and ``write_file`` tools confined to ``workspace``."""

    def read_file(path: str) -> str:
        """Read a text file from the workspace folder.

        Args:
            path: File path relative to the workspace, e.g. "notes/report.md".
        """
        return read_workspace_file(workspace, path)

    def write_file(path: str, content: str) -> str:
        """Create or overwrite a text file in the workspace folder.

        Folders in the path are created as needed.

        Args:
            path: File path relative to the workspace, e.g. "report.md".
            content: The full text to write to the file.
        """
        return write_workspace_file(workspace, path, content)

    return [
        StructuredTool.from_function(read_file, parse_docstring=True),
        StructuredTool.from_function(write_file, parse_docstring=True),
    ]
