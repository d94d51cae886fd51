"""Reading a credential through the Dapr secrets API at start-up, before Django is set up.

Settings call this when ``DATABASE_URL_SECRET`` names a secret: the database URL then comes
from the sidecar's secret store (a local file store in local runs, ``kubernetes`` in the
chart) instead of the process environment. Standard library only: settings import it.
The sidecar may start after the app, so connection failures and 5xx answers are retried
until ``DAPR_HEALTH_TIMEOUT`` seconds have passed; a secret that does not exist is an error
at once.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request


class SecretUnavailable(RuntimeError):
    """The secret could not be read: the sidecar never answered, or it has no such secret."""


def parse_reference(reference: str) -> tuple[str, str]:
    """``"name"`` or ``"name/key"`` -> (secret name, key); the key defaults to the name.

    A Kubernetes secret holds several keys (``todo-secrets/database-url``); a local file
    or env store answers a name with one key of the same name.
    """
    name, _, key = reference.partition("/")
    if not name:
        raise SecretUnavailable(f"empty secret reference {reference!r}")
    return name, key or name


def read_secret(
    store: str,
    reference: str,
    *,
    timeout: float | None = None,
    environ: dict[str, str] | None = None,
) -> str:
    env = os.environ if environ is None else environ
    name, key = parse_reference(reference)
    host = env.get("DAPR_RUNTIME_HOST", "127.0.0.1")
    port = env.get("DAPR_HTTP_PORT", "3500")
    url = (
        f"http://{host}:{port}/v1.0/secrets/{urllib.parse.quote(store, safe='')}/"
        f"{urllib.parse.quote(name, safe='')}"
    )
    headers = {"dapr-api-token": env["DAPR_API_TOKEN"]} if env.get("DAPR_API_TOKEN") else {}
    wait = float(env.get("DAPR_HEALTH_TIMEOUT", "60")) if timeout is None else timeout
    deadline = time.monotonic() + wait
    last_error = "no attempt"
    while True:
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=5) as response:
                values = json.loads(response.read() or b"{}")
            break
        except urllib.error.HTTPError as err:
            body = err.read().decode("utf-8", "replace")[:300]
            last_error = f"HTTP {err.code}: {body}"
            if err.code < 500:
                raise SecretUnavailable(
                    f"secret {name!r} from Dapr store {store!r}: {last_error}"
                ) from err
        except (OSError, ValueError) as err:
            last_error = f"{type(err).__name__}: {err}"
        if time.monotonic() >= deadline:
            raise SecretUnavailable(
                f"secret {name!r} from Dapr store {store!r} at {url}: no answer within "
                f"{wait:.0f} s ({last_error})"
            )
        time.sleep(0.25)
    if not isinstance(values, dict) or key not in values:
        raise SecretUnavailable(f"secret {name!r} in Dapr store {store!r} has no key {key!r}")
    return str(values[key])
