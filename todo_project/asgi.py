"""ASGI entry point: HTTP through Django, WebSockets through Channels.

In embedded mode (RUN_EMBEDDED_WORKER) this process also runs the outbox relay, the event
handlers and the reminder scheduler in background threads; in Dapr mode, the relay only.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from realtime.routing import websocket_urlpatterns  # noqa: E402
from todo_project.eventbus import runtime  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

if not settings.TESTING:
    runtime.start_background()
