"""Finishing touches on the generated OpenAPI document, applied once all blueprints are in:
the bearer security scheme, who must sign in, and every error documented as {"error": "..."}."""

from __future__ import annotations

ERROR_REF = {"$ref": "#/components/schemas/Error"}
METHODS = ("get", "put", "post", "patch", "delete")

# Endpoints anyone may call; the catalogue shows more to a signed-in coordinator.
PUBLIC = {("post", "/api/v1/tokens"), ("post", "/api/v1/feasibility")}
OPTIONAL_AUTH = {("get", "/api/v1/strains"), ("get", "/api/v1/strains/{emma_id}")}

ERRORS = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "Not signed in: send 'Authorization: Bearer <token>'",
    403: "Your role may not do this",
    404: "Not found, or not yours to see",
    409: "Not allowed in the current state (the message says why)",
    422: "Invalid data (the message says which field and why)",
}


def _error(code: int) -> dict:
    return {"description": ERRORS[code], "content": {"application/json": {"schema": ERROR_REF}}}


def finish_spec(api) -> None:
    spec = api.spec
    if "bearerAuth" not in spec.components.security_schemes:
        spec.components.security_scheme(
            "bearerAuth", {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/tokens"}
        )
    for path, item in spec._paths.items():  # apispec keeps the paths here until to_dict()
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            key = (method, path)
            if not op.get("summary"):
                op["summary"] = f"{method.upper()} {path.removeprefix('/api/v1')}"
            responses = op.setdefault("responses", {})
            codes = set()
            if key not in PUBLIC | OPTIONAL_AUTH:
                op["security"] = [{"bearerAuth": []}]
                codes.add(401)
            elif key in OPTIONAL_AUTH:
                op["security"] = [{}, {"bearerAuth": []}]
            else:
                op["security"] = []
            if "{" in path:
                codes.add(404)
            if "requestBody" in op:
                codes |= {400, 422}
            if any(p.get("in") == "query" for p in op.get("parameters", [])):
                codes.add(422)
            codes |= {int(c) for c in responses if str(c).isdigit() and int(c) >= 400}
            for code in sorted(codes):
                current = responses.get(str(code), responses.get(code))
                responses.pop(code, None)
                fixed = (
                    _error(code)
                    if code in ERRORS
                    else {"description": "Error", "content": {"application/json": {"schema": ERROR_REF}}}
                )
                if isinstance(current, dict) and current.get("description") and code not in ERRORS:
                    fixed["description"] = current["description"]
                responses[str(code)] = fixed
    spec.components.schemas.pop("Schema", None)  # the empty placeholder the error responses used
