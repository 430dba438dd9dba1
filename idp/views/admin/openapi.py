"""The OpenAPI 3.1 document of the admin API (``GET /admin/api/openapi.json``, public).

Built from the same constants the rules use (``idp.oauth.clients``), so that the
enumerations cannot drift; tests/admin_portals fuzzes the API from this document with
schemathesis and checks every answer against it (status codes, content types, headers and
response schemas).
"""

from __future__ import annotations

from typing import Any

from idp.oauth import clients as rules
from idp.oauth.claims import SCOPES_SUPPORTED
from idp.oauth.clients.encryption_keys import CONTENT_ENCRYPTIONS, ENCRYPTION_ALGORITHMS
from idp.oauth.fapi import PROFILES
from idp.oauth.keys import SUPPORTED_ALGORITHMS
from idp.oauth.request_objects import REQUEST_OBJECT_ALGORITHMS

# Members of a portal's representation that no request may set.
READ_ONLY = (
    "client_id",
    "client_secret",
    "has_secret",
    "previous_secret_expires_at",
    "registered_dynamically",
    "created_at",
    "updated_at",
)
PROBLEM = "application/problem+json"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    result = {**schema, "type": [kind, "null"]}
    if "enum" in schema:
        result["enum"] = [*schema["enum"], None]
    return result


def _uri() -> dict[str, Any]:
    return {"type": "string", "format": "uri", "maxLength": rules.MAX_URI_LENGTH}


def _uri_list(minimum: int = 0) -> dict[str, Any]:
    return {
        "type": "array",
        "items": _uri(),
        "minItems": minimum,
        "maxItems": rules.MAX_LIST["redirect_uris"],
    }


def metadata_properties(sensitive_claims: list[str]) -> dict[str, dict[str, Any]]:
    """The metadata fields, as a request sets them and as the API answers them."""
    name = {"type": "string", "minLength": 1, "maxLength": rules.MAX_NAME_LENGTH}
    return {
        "name": {**name, "description": "Display name in Chinese (required, unique)."},
        "name_en": {**_nullable(name), "description": "Display name in English (unique)."},
        "region": {
            "type": ["string", "null"],
            "pattern": r"^\d{6}$",
            "description": "GB/T 2260 administrative division code, e.g. 330100.",
        },
        "redirect_uris": {
            **_uri_list(1),
            "description": "https (http only for loopback hosts, or in development); no "
            "fragment, userinfo or wildcard. Matched exactly.",
        },
        "post_logout_redirect_uris": _uri_list(),
        "backchannel_logout_uri": _nullable(_uri()),
        "token_endpoint_auth_method": {"type": "string", "enum": list(rules.AUTH_METHODS)},
        "jwks": {
            "type": ["object", "null"],
            "description": "A JWK set of public RSA or EC keys (not with jwks_uri).",
            "properties": {
                "keys": {
                    "type": "array",
                    "items": {"type": "object"},
                    "minItems": 1,
                    "maxItems": rules.MAX_KEYS,
                }
            },
            "required": ["keys"],
        },
        "jwks_uri": {
            **_nullable(_uri()),
            "description": "Fetched when set: it must answer a JWK set of public keys.",
        },
        "id_token_signed_response_alg": {"type": "string", "enum": list(SUPPORTED_ALGORITHMS)},
        # OIDC Registration 2 / Core 10.2 (idp.oauth.encryption): encrypted answers go to the
        # key with "use": "enc" in jwks or jwks_uri; _enc defaults to A128CBC-HS256.
        **{
            name: {"type": ["string", "null"], "enum": [*values, None]}
            for name, values in (
                ("id_token_encrypted_response_alg", ENCRYPTION_ALGORITHMS),
                ("id_token_encrypted_response_enc", CONTENT_ENCRYPTIONS),
                ("userinfo_signed_response_alg", SUPPORTED_ALGORITHMS),
                ("userinfo_encrypted_response_alg", ENCRYPTION_ALGORITHMS),
                ("userinfo_encrypted_response_enc", CONTENT_ENCRYPTIONS),
            )
        },
        "scopes": {
            "type": "array",
            "items": {"type": "string", "enum": list(SCOPES_SUPPORTED)},
            "maxItems": rules.MAX_LIST["scopes"],
            "description": "Allowed scopes; openid is always added.",
        },
        "allowed_sensitive_claims": {
            "type": "array",
            "items": {"type": "string", "enum": sensitive_claims},
            "maxItems": rules.MAX_LIST["allowed_sensitive_claims"],
        },
        "minimum_verification_level": {
            "type": ["string", "null"],
            "enum": [*rules.MINIMUM_LEVELS, None],
        },
        "trusted": {"type": "boolean"},
        "require_mfa": {
            "type": "boolean",
            "description": "Every login includes a second factor (amr mfa).",
        },
        "dpop_bound_access_tokens": {
            "type": "boolean",
            "description": "Every token request carries a DPoP proof (RFC 9449 5.2).",
        },
        "subject_type": {"type": "string", "enum": list(rules.SUBJECT_TYPES)},
        "sector_identifier_uri": {
            **_nullable(_uri()),
            "description": "Fetched when set: a JSON array listing every redirect URI.",
        },
        "matters": {
            "type": "array",
            "items": {"type": "string", "pattern": rules.MATTER_PATTERN.pattern},
            "maxItems": rules.MAX_LIST["matters"],
        },
        "contacts": {
            "type": "array",
            "items": {"type": "string", "maxLength": 254},
            "maxItems": rules.MAX_LIST["contacts"],
            "description": "E-mail addresses or phone numbers.",
        },
        "status": {"type": "string", "enum": list(rules.STATUSES)},
        # FAPI 2.0 (idp.oauth.clients.request_protection, docs/portals.md "FAPI 2.0").
        "require_pushed_authorization_requests": {
            "type": "boolean",
            "description": "Authorization requests only through /par (RFC 9126 6).",
        },
        "require_signed_request_object": {
            "type": "boolean",
            "description": "Authorization requests only as signed request objects (RFC 9101 "
            "10.5); needs jwks or jwks_uri.",
        },
        "request_object_signing_alg": {
            "type": ["string", "null"],
            "enum": [*REQUEST_OBJECT_ALGORITHMS, None],
            "description": "The one algorithm accepted for request objects (null: any).",
        },
        "authorization_signed_response_alg": {
            "type": ["string", "null"],
            "enum": [*SUPPORTED_ALGORITHMS, None],
            "description": "JARM (response_mode jwt): the signing algorithm (null: RS256).",
        },
        "profile": {
            "type": ["string", "null"],
            "enum": [*PROFILES, None],
            "description": "fapi2: FAPI 2.0 Security Profile. Requires private_key_jwt "
            "(secrets are removed) and PS256 or ES256 signatures; sets "
            "require_pushed_authorization_requests and dpop_bound_access_tokens; PKCE S256 "
            "and response_type code are enforced at request time.",
        },
    }


REASON = {
    "type": "string",
    "maxLength": 500,
    "description": "Why: recorded in the audit trail.",
}


def _client_schema(sensitive_claims: list[str]) -> dict[str, Any]:
    properties = metadata_properties(sensitive_claims)
    for value in properties.values():
        value.pop("description", None)
    properties["name"] = {"type": "string"}
    properties["name_en"] = {"type": ["string", "null"]}
    properties["redirect_uris"] = {"type": "array", "items": {"type": "string"}}
    properties["jwks"] = {"type": ["object", "null"]}
    return {
        "type": "object",
        "properties": {
            "client_id": {"type": "string"},
            **properties,
            "has_secret": {"type": "boolean"},
            "previous_secret_expires_at": {"type": ["string", "null"], "format": "date-time"},
            "registered_dynamically": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "client_secret": {
                "type": "string",
                "description": "Only when a secret was just issued: shown once.",
            },
        },
        "required": ["client_id", *rules.FIELDS, *READ_ONLY[2:]],
        "additionalProperties": False,
    }


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


def _body(schema_name: str, *, required: bool = True) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    return {
        "required": required,
        "content": {
            "application/json": {"schema": schema},
        },
    }


def document(sensitive_claims: list[str] | None = None) -> dict[str, Any]:
    claims = sorted(sensitive_claims or [])
    metadata = metadata_properties(claims)
    auth = {
        # Refused at the door (idp.views.boundary), in any parameter: control characters,
        # text that is not UTF-8, a lone surrogate, an over-long value.
        "400": _problem("Input refused before anything else: one member of errors."),
        "401": _problem(
            "No token, or an unknown, expired or revoked one.",
            {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
        ),
    }
    write = {
        **auth,
        "403": _problem(
            "An auditor's token: read only.",
            {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
        ),
    }
    body_errors = {
        "400": _problem("Invalid input: one member of errors per problem."),
        "413": _problem("The request body is too large."),
        "415": _problem("The request body is not JSON."),
    }
    not_found = {"404": _problem("No portal has this client_id.")}
    client_id = {
        "name": "client_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": rules.CLIENT_ID_PATTERN.pattern},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "idp admin API: portals",
            "version": "1",
            "description": "Portals (OAuth clients) of the identity provider. Authenticate "
            "with an administrator API token (`idp admins api-token`) as a Bearer token; an "
            "auditor's token reads only. Errors are RFC 9457 problem details. See "
            "docs/portals.md.",
        },
        "servers": [{"url": "/admin/api"}],
        "security": [{"adminToken": []}],
        "paths": {
            "/clients": {
                "get": {
                    "operationId": "listClients",
                    "summary": "List portals",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": list(rules.STATUSES)},
                        }
                    ],
                    "responses": {
                        "200": _json("ClientList", "The portals, oldest first."),
                        "400": _problem("Unknown status."),
                        **auth,
                    },
                },
                "post": {
                    "operationId": "createClient",
                    "summary": "Register a portal",
                    "requestBody": _body("ClientCreate"),
                    "responses": {
                        "201": {
                            **_json("Client", "Registered; client_secret is shown once."),
                            "headers": {
                                "Location": {"required": True, "schema": {"type": "string"}}
                            },
                        },
                        **body_errors,
                        **write,
                    },
                },
            },
            "/clients/{client_id}": {
                "parameters": [client_id],
                "get": {
                    "operationId": "getClient",
                    "summary": "One portal",
                    "responses": {"200": _json("Client", "The portal."), **not_found, **auth},
                },
                "patch": {
                    "operationId": "updateClient",
                    "summary": "Change some fields (null clears an optional one)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            media: {"schema": {"$ref": "#/components/schemas/ClientUpdate"}}
                            for media in ("application/json", "application/merge-patch+json")
                        },
                    },
                    "responses": {
                        "200": _json(
                            "Client",
                            "Changed; client_secret only when the change issued a secret.",
                        ),
                        **body_errors,
                        **not_found,
                        **write,
                    },
                },
                "delete": {
                    "operationId": "deleteClient",
                    "summary": "Delete a portal, its grants, tokens and consents",
                    "parameters": [
                        {"name": "reason", "in": "query", "required": False, "schema": REASON}
                    ],
                    "responses": {
                        "204": {"description": "Deleted."},
                        **not_found,
                        **write,
                    },
                },
            },
            "/clients/{client_id}/rotate-secret": {
                "parameters": [client_id],
                "post": {
                    "operationId": "rotateClientSecret",
                    "summary": "New secret; the previous one works for the grace period",
                    "requestBody": _body("Reason", required=False),
                    "responses": {
                        "200": _json("RotatedSecret", "The new secret, shown once."),
                        **body_errors,
                        **not_found,
                        "409": _problem("The portal has no secret (none or private_key_jwt)."),
                        **write,
                    },
                },
            },
            # RFC 8693 (docs/portals.md, "Token exchange"): the portals client_id may
            # exchange tokens for.
            "/clients/{client_id}/pairs": {
                "parameters": [client_id],
                "get": {
                    "operationId": "listClientPairs",
                    "summary": "The portals this portal may exchange tokens for",
                    "responses": {
                        "200": _json("PairList", "The pairs."),
                        **not_found,
                        **auth,
                    },
                },
            },
            "/clients/{client_id}/pairs/{target_client_id}": {
                "parameters": [client_id, {**client_id, "name": "target_client_id"}],
                "put": {
                    "operationId": "pairClients",
                    "summary": "Allow token exchange from client_id to target_client_id",
                    "requestBody": _body("Reason", required=False),
                    "responses": {
                        "200": _json("Pair", "The pair (made now or before)."),
                        **body_errors,
                        "404": _problem("No portal has one of these client_ids."),
                        "409": _problem("A portal with itself, or a public portal."),
                        **write,
                    },
                },
                "delete": {
                    "operationId": "unpairClients",
                    "summary": "End token exchange from client_id to target_client_id",
                    "parameters": [
                        {"name": "reason", "in": "query", "required": False, "schema": REASON}
                    ],
                    "responses": {
                        "204": {"description": "Unpaired."},
                        "404": _problem("No such portal, or the portals are not paired."),
                        **write,
                    },
                },
            },
            "/initial-access-tokens": {
                "post": {
                    "operationId": "issueInitialAccessToken",
                    "summary": "An initial access token for dynamic registration (RFC 7591)",
                    "requestBody": _body("InitialAccessTokenRequest", required=False),
                    "responses": {
                        "201": _json("InitialAccessToken", "The token, shown once."),
                        **body_errors,
                        **write,
                    },
                },
            },
            "/messages": {
                "post": {
                    "operationId": "sendMessage",
                    "summary": "A message from the authority to a person's inbox "
                    "(docs/user-space.md)",
                    "requestBody": _body("MessageRequest"),
                    "responses": {
                        "201": _json(
                            "MessageSent",
                            "Delivered, or declined: the person turned off the authority's "
                            "non-essential messages (nothing stored).",
                        ),
                        **body_errors,
                        "404": _problem("No account has this id or sub."),
                        **write,
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An administrator API token (`idp admins api-token`).",
                }
            },
            "headers": {
                "WWW-Authenticate": {
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "RFC 6750 3: the Bearer challenge.",
                }
            },
            "schemas": {
                "ClientCreate": {
                    "type": "object",
                    "properties": {
                        "client_id": {
                            "type": "string",
                            "pattern": rules.CLIENT_ID_PATTERN.pattern,
                            "description": "Chosen client_id (default: random).",
                        },
                        **metadata,
                        "reason": REASON,
                    },
                    "required": ["name", "redirect_uris"],
                    "additionalProperties": False,
                },
                "ClientUpdate": {
                    "type": "object",
                    "properties": {**metadata, "reason": REASON},
                    "additionalProperties": False,
                },
                "Client": _client_schema(claims),
                "ClientList": {
                    "type": "object",
                    "properties": {
                        "clients": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Client"},
                        }
                    },
                    "required": ["clients"],
                    "additionalProperties": False,
                },
                "Reason": {
                    "type": "object",
                    "properties": {"reason": REASON},
                    "additionalProperties": False,
                },
                "Pair": {
                    "type": "object",
                    "properties": {
                        "client_id": {"type": "string"},
                        "target_client_id": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"},
                    },
                    "required": ["client_id", "target_client_id", "created_at"],
                    "additionalProperties": False,
                },
                "PairList": {
                    "type": "object",
                    "properties": {
                        "pairs": {"type": "array", "items": {"$ref": "#/components/schemas/Pair"}}
                    },
                    "required": ["pairs"],
                    "additionalProperties": False,
                },
                "RotatedSecret": {
                    "type": "object",
                    "properties": {
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "previous_secret_expires_at": {
                            "type": ["string", "null"],
                            "format": "date-time",
                        },
                    },
                    "required": ["client_id", "client_secret", "previous_secret_expires_at"],
                    "additionalProperties": False,
                },
                "InitialAccessTokenRequest": {
                    "type": "object",
                    "properties": {
                        "uses": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": rules.MAX_INITIAL_TOKEN_USES,
                            "default": 1,
                        },
                        "days": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": rules.MAX_INITIAL_TOKEN_DAYS,
                            "default": 7,
                        },
                        "reason": REASON,
                    },
                    "additionalProperties": False,
                },
                "InitialAccessToken": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "token": {"type": "string"},
                        "uses": {"type": "integer"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "registration_endpoint": {"type": "string"},
                    },
                    "required": ["id", "token", "uses", "expires_at", "registration_endpoint"],
                    "additionalProperties": False,
                },
                "MessageRequest": {
                    "type": "object",
                    "properties": {
                        "account": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 64,
                            "description": "The account id or its (public) sub.",
                        },
                        "title": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 120,
                            "pattern": r"\S",
                            "description": "Text; no control characters.",
                        },
                        "body": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 4000,
                            "pattern": r"\S",
                            "description": "Text; newlines allowed.",
                        },
                        "essential": {
                            "type": "boolean",
                            "default": False,
                            "description": "Essential notices (agreement changes, suspension, "
                            "security events) arrive even when the person turned the "
                            "authority's non-essential messages off.",
                        },
                        "link": {**_uri(), "pattern": "^https://", "description": "An https link."},
                        "reason": REASON,
                    },
                    "required": ["account", "title", "body"],
                    "additionalProperties": False,
                },
                "MessageSent": {
                    "type": "object",
                    "properties": {
                        "id": {"type": ["string", "null"]},
                        "status": {"type": "string", "enum": ["delivered", "declined"]},
                    },
                    "required": ["id", "status"],
                    "additionalProperties": False,
                },
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details.",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/FieldError"},
                        },
                    },
                    "required": ["type", "title", "status", "detail"],
                },
                "FieldError": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "pointer": {"type": "string", "description": "RFC 6901 JSON Pointer."},
                    },
                    "required": ["field", "code", "message", "pointer"],
                    "additionalProperties": False,
                },
            },
        },
    }
