"""Secrets that belong to one installation, kept in its data folder.

Without SECRET_KEY in the environment (a local embedded run), the key that signs
sessions, CSRF tokens and API tokens is generated once per installation and kept in
DATA_DIR/secret_key, readable by its owner only. No key shipped in the source ever serves
requests, so nobody can mint a token for someone else's installation.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_FILE = "secret_key"


def installation_secret_key(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
    else:
        key = secrets.token_urlsafe(64)
        with os.fdopen(descriptor, "w") as file:
            file.write(key + "\n")
    if len(key) < 50:
        raise RuntimeError(f"{path} holds no usable secret key; delete it to get a new one")
    return key
