"""``idp demo-client``: the demo portal and a demo account, and how to try a login."""

from __future__ import annotations

import argparse

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from idp.cli import demo_setup
from idp.cli.base import Subparsers, add_command, add_group
from idp.cli.clients import create_client
from idp.cli.users import create_account
from idp.oauth.clients import ClientNotFound
from idp.services import Services

DEMO_CLIENT_ID = "demo-portal"
DEMO_REDIRECT_URI = "http://localhost:5001/callback"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-2026"


def demo_client(services: Services, args: argparse.Namespace) -> None:
    """Register the demo portal and a demo account once, and say how to try a login."""
    try:
        services.clients.get(DEMO_CLIENT_ID)
    except ClientNotFound:
        create_client(
            services,
            name="示例门户 Demo portal",
            redirect_uris=[DEMO_REDIRECT_URI, "http://127.0.0.1:5001/callback"],
            public=True,
            post_logout_redirect_uris=["http://localhost:5001/"],
            client_id=DEMO_CLIENT_ID,
            scopes=["profile", "phone", "realname", "offline_access"],
        )
    if services.people.find_by_identifier(DEMO_USERNAME) is None:
        create_account(services, username=DEMO_USERNAME, password=DEMO_PASSWORD, name="张三")
    verifier = "demo-verifier-" + "x" * 40
    challenge = create_s256_code_challenge(verifier)
    print(
        "Demo portal registered (public client, PKCE).\n"
        f"  client_id:     {DEMO_CLIENT_ID}\n"
        f"  redirect_uri:  {DEMO_REDIRECT_URI}\n"
        f"  demo account:  {DEMO_USERNAME} / {DEMO_PASSWORD} (operator-made, level L0)\n"
        "  or register with your real name on the login page as a fictional person of the demo\n"
        "  registry (docs/registry.md), e.g. 李四 31010419900708023X 13800131002;\n"
        "  SMS codes land in the outbox: idp sms outbox\n"
        "Try a login: open\n"
        f"  {services.issuer}/authorize?response_type=code&client_id={DEMO_CLIENT_ID}"
        f"&redirect_uri={DEMO_REDIRECT_URI}&scope=openid%20profile%20phone&state=demo"
        f"&code_challenge={challenge}&code_challenge_method=S256\n"
        f"  then exchange the code with code_verifier={verifier}",
        flush=True,
    )


def register(subparsers: Subparsers) -> None:
    add_command(subparsers, "demo-client", demo_client, "register the demo portal and account")
    demo = add_group(subparsers, "demo", "the development demo of `make run`")
    parser = add_command(
        demo, "setup", demo_setup.setup, "demo catalogue, people, company and portals (idempotent)"
    )
    parser.add_argument(
        "--portal-host", default="localhost", help="where the browser reaches the portals"
    )
    parser.add_argument(
        "--ports",
        type=demo_setup.parse_ports,
        default=None,
        metavar="PEOPLE,COMPANIES",
        help="the demo portals' ports (default: 5001,5003); their addresses follow a change",
    )
    parser.add_argument(
        "--portals-file",
        help="where the portals' credentials go (default: instance/run-portals.json)",
    )
