"""Per-request context shared by the middleware, the logger and the outbound client."""

from contextvars import ContextVar

from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def route_template(scope: Scope) -> str | None:
    """The path template routing matched (``/v1/orders/{order_id}``), never the raw path; None
    when no route matched. Routing has put it in the scope by the time the app returns."""
    return getattr(scope.get("route"), "path", None)
