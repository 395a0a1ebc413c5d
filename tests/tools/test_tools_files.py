"""read_file / write_file: confined to the workspace, symlinks included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.files import MAX_READ_BYTES, read_workspace_file, write_workspace_file


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("top secret")
    return folder


def test_write_then_read(workspace: Path) -> None:
    assert write_workspace_file(workspace, "notes/report.md", "héllo") == (
        "Wrote 6 bytes to notes/report.md"
    )
    assert (workspace / "notes" / "report.md").read_text() == "héllo"
    assert read_workspace_file(workspace, "notes/report.md") == "héllo"
    # An absolute path is fine while it stays inside the workspace.
    assert read_workspace_file(workspace, str(workspace / "notes/report.md")) == "héllo"


def test_write_is_atomic_and_leaves_no_temp_files(workspace: Path) -> None:
    write_workspace_file(workspace, "a.txt", "one")
    write_workspace_file(workspace, "a.txt", "two")
    assert sorted(os.listdir(workspace)) == ["a.txt"]
    assert (workspace / "a.txt").read_text() == "two"


def test_read_missing_file_and_folder(workspace: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no file 'nope.txt'"):
        read_workspace_file(workspace, "nope.txt")
    (workspace / "sub").mkdir()
    with pytest.raises(IsADirectoryError):
        read_workspace_file(workspace, "sub")
    with pytest.raises(IsADirectoryError):
        write_workspace_file(workspace, "sub", "x")
    with pytest.raises(ValueError, match="empty"):
        read_workspace_file(workspace, "  ")


def test_read_is_capped(workspace: Path) -> None:
    workspace.mkdir()
    (workspace / "big.txt").write_text("x" * (MAX_READ_BYTES + 500))
    out = read_workspace_file(workspace, "big.txt")
    assert out.startswith("x" * 100)
    assert out.endswith(
        f"[truncated: showing the first {MAX_READ_BYTES} of {MAX_READ_BYTES + 500} bytes]"
    )


def _escapes(workspace: Path, outside: Path) -> dict[str, str]:
    """Build each kind of escape and return its path relative to the workspace."""
    workspace.mkdir(exist_ok=True)
    (workspace / "link_file").symlink_to(outside / "secret.txt")
    (workspace / "link_dir").symlink_to(outside, target_is_directory=True)
    (workspace / "dangling").symlink_to(outside / "not_yet.txt")
    return {
        "dotdot": "../outside/secret.txt",
        "absolute": str(outside / "secret.txt"),
        "symlinked_file": "link_file",
        "symlinked_dir": "link_dir/secret.txt",
        "dangling_symlink": "dangling",
    }


@pytest.mark.parametrize(
    "kind", ["dotdot", "absolute", "symlinked_file", "symlinked_dir", "dangling_symlink"]
)
def test_read_refuses_escapes(workspace: Path, outside: Path, kind: str) -> None:
    path = _escapes(workspace, outside)[kind]
    with pytest.raises(ValueError, match="outside the workspace"):
        read_workspace_file(workspace, path)


@pytest.mark.parametrize(
    "kind", ["dotdot", "absolute", "symlinked_file", "symlinked_dir", "dangling_symlink"]
)
def test_write_refuses_escapes(workspace: Path, outside: Path, kind: str) -> None:
    path = _escapes(workspace, outside)[kind]
    with pytest.raises(ValueError, match="outside the workspace"):
        write_workspace_file(workspace, path, "pwned")
    assert (outside / "secret.txt").read_text() == "top secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_write_refuses_new_folders_under_a_symlinked_dir(workspace: Path, outside: Path) -> None:
    _escapes(workspace, outside)
    with pytest.raises(ValueError, match="outside the workspace"):
        write_workspace_file(workspace, "link_dir/new/deep.txt", "pwned")
    assert not (outside / "new").exists()


def test_symlinks_that_stay_inside_are_fine(workspace: Path) -> None:
    write_workspace_file(workspace, "real/data.txt", "inside")
    (workspace / "alias").symlink_to(workspace / "real", target_is_directory=True)
    assert read_workspace_file(workspace, "alias/data.txt") == "inside"
    assert read_workspace_file(workspace, "real/../real/data.txt") == "inside"


def test_workspace_behind_a_symlink_still_works(tmp_path: Path) -> None:
    real = tmp_path / "real_ws"
    real.mkdir()
    (tmp_path / "ws_link").symlink_to(real, target_is_directory=True)
    write_workspace_file(tmp_path / "ws_link", "a.txt", "ok")
    assert (real / "a.txt").read_text() == "ok"
    assert read_workspace_file(tmp_path / "ws_link", "a.txt") == "ok"
