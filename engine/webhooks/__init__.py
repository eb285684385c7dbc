"""The webhook server: Business Central notifications, Cleo pushes, health and metrics.

    settings.py       what is served: the routes' webhook triggers, connections.yaml `server:`
    app.py            the ASGI app (Starlette): routes, body limits, status codes
    bc.py             BC notification POST -> fetch jobs (clientState, collections, deletions)
    cleo.py           a file pushed by a Cleo HTTP action -> inbound file job
    subscriptions.py  BC subscriptions created at start and renewed before their 3-day expiry
    refusal.py        Refusal: a call answered with an error status and a one-line reason

`mlc serve` (engine/cli/serve.py) serves `build_app` with uvicorn next to the scheduler and
the workers; the handlers only enqueue jobs, the workers run them.
"""

from __future__ import annotations

from engine.webhooks.app import build_app
from engine.webhooks.bc import Notification, NotificationOutcome, accept_notifications, fetch_key, read_notifications
from engine.webhooks.cleo import PushOutcome, accept_push
from engine.webhooks.refusal import Refusal
from engine.webhooks.settings import SECRET_HEADER, Watch, WebhookSettings
from engine.webhooks.subscriptions import SubscriptionChange, SubscriptionKeeper

__all__ = [
    "SECRET_HEADER",
    "Notification",
    "NotificationOutcome",
    "PushOutcome",
    "Refusal",
    "SubscriptionChange",
    "SubscriptionKeeper",
    "Watch",
    "WebhookSettings",
    "accept_notifications",
    "accept_push",
    "build_app",
    "fetch_key",
    "read_notifications",
]
