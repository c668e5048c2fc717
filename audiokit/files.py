"""Files written whole or not at all: a temporary file beside the target, then a rename. Every layer writes
through here (manifests, checkpoints, audio, tables), so an interrupted run never leaves a half-written file."""
import os
import tempfile


def write_text(path, text):
    """Writes a text file atomically."""
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    write_atomically(path, write)


def write_atomically(path, write):
    """Calls write(tmp) on a temporary file beside `path`, then renames it over `path` (never half-written)."""
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(descriptor)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())  # mkstemp makes owner-only files; outputs get the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _file_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
