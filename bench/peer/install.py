"""
Build ``bench/.venv-peer``: django-oauth-toolkit with the very Django, DRF, gunicorn and psycopg
versions of the project's own virtualenv (the one running this), so only the OAuth server differs.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

PEER = "django-oauth-toolkit==3.4.1"
SHARED = ("Django", "djangorestframework", "gunicorn", "psycopg", "psycopg-binary")
VENV = Path(__file__).resolve().parent.parent / ".venv-peer"


def requirements() -> list[str]:
    pins = []
    for name in SHARED:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return [*pins, PEER]


def main() -> None:
    wanted = "\n".join(requirements()) + "\n"
    marker = VENV / ".installed"
    if marker.exists() and marker.read_text() == wanted:
        return
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *wanted.split()], check=True)
    marker.write_text(wanted)
    print(f"bench: built {VENV} with {', '.join(wanted.split())}")


if __name__ == "__main__":
    main()
