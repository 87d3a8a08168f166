"""
``manage.py oauth_create_client``: register a client from the command line, under the same rules
as dynamic registration (RFC 7591 §2), and print its ``client_id`` and, for a confidential
client, its secret: once, never stored in clear.

    manage.py oauth_create_client --name "Billing sync" --grant-type client_credentials
    manage.py oauth_create_client --name "CRM" --redirect-uri https://crm.example.com/cb --json
    manage.py oauth_create_client --name "Reports API" --grant-type client_credentials --allow-introspection
    manage.py oauth_create_client --name "Agent" --grant-type client_credentials \
        --jwks-uri https://agent.example.com/jwks.json

A client given ``--jwks-uri`` or ``--jwks-file`` authenticates with ``private_key_jwt`` (RFC 7523
§2.2) unless ``--auth-method`` says otherwise, and has no secret.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from twenty_oauth import signals
from twenty_oauth.errors import OAuthError
from twenty_oauth.models import Client
from twenty_oauth.protocol import clients
from twenty_oauth.protocol.client_information import ClientInformationSerializer
from twenty_oauth.protocol.client_metadata import validate_metadata
from twenty_oauth.protocol.discovery import ASSERTION_SIGNING_ALGORITHMS, AUTH_METHODS, GRANT_TYPES


class Command(BaseCommand):
    help = "Create an OAuth client and print its client_id and client_secret (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("--name", dest="client_name", help="Shown to users on the consent page.")
        parser.add_argument(
            "--redirect-uri",
            dest="redirect_uris",
            action="append",
            default=[],
            metavar="URI",
            help="A redirect URI; repeat for several. Required for authorization_code.",
        )
        parser.add_argument(
            "--grant-type",
            dest="grant_types",
            action="append",
            choices=GRANT_TYPES,
            metavar="GRANT",
            help=f"Repeat for several: {', '.join(GRANT_TYPES)} (default authorization_code).",
        )
        parser.add_argument(
            "--auth-method",
            dest="token_endpoint_auth_method",
            choices=AUTH_METHODS,
            help="How the client authenticates: none makes a public client (PKCE, no secret); "
            "private_key_jwt signs with the client's key (--jwks-uri or --jwks-file). Default "
            "private_key_jwt with keys, client_secret_basic without.",
        )
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument(
            "--jwks-uri", metavar="URL", help="Where the client publishes its public keys (a JWK Set, https)."
        )
        keys.add_argument(
            "--jwks-file", metavar="PATH", help="A file holding the client's public keys as a JWK Set."
        )
        parser.add_argument(
            "--auth-signing-alg",
            dest="token_endpoint_auth_signing_alg",
            choices=ASSERTION_SIGNING_ALGORITHMS,
            help="The only algorithm the client's assertions may use (default: any accepted).",
        )
        parser.add_argument(
            "--application-type",
            dest="application_type",
            choices=[str(value) for value in Client.ApplicationType.values],
            help="web: https redirect URIs on a host that is not loopback; native: loopback http or a "
            "private-use scheme (OpenID Connect Registration §2). Default: not given.",
        )
        parser.add_argument("--scope", help="Space-separated scopes the client may ask for (default: all).")
        parser.add_argument(
            "--id-token-alg",
            dest="id_token_signed_response_alg",
            choices=["ES256", "RS256"],
            help="OpenID Connect: the algorithm of the client's ID tokens (default ES256).",
        )
        parser.add_argument(
            "--post-logout-redirect-uri",
            dest="post_logout_redirect_uris",
            action="append",
            default=[],
            metavar="URI",
            help="OpenID Connect logout: where the client may send the person after signing out; "
            "repeat for several.",
        )
        parser.add_argument(
            "--default-max-age",
            dest="default_max_age",
            type=int,
            metavar="SECONDS",
            help="OpenID Connect: the max_age of the client's requests that name none.",
        )
        parser.add_argument(
            "--require-auth-time",
            dest="require_auth_time",
            action="store_const",
            const=True,
            help="OpenID Connect: state auth_time in every ID token.",
        )
        for name, text in (
            ("client-uri", "The client's home page (https)."),
            ("logo-uri", "The client's logo (https)."),
            ("tos-uri", "The client's terms of service (https)."),
            ("policy-uri", "The client's privacy policy (https)."),
        ):
            parser.add_argument(f"--{name}", dest=name.replace("-", "_"), metavar="URL", help=text)
        parser.add_argument(
            "--contact", dest="contacts", action="append", metavar="EMAIL", help="Repeat for several."
        )
        parser.add_argument("--software-id")
        parser.add_argument("--software-version")
        parser.add_argument(
            "--dpop-bound-access-tokens",
            dest="dpop_bound_access_tokens",
            action="store_true",
            default=None,
            help="Refuse the client's token requests without a DPoP proof (RFC 9449 §5.2).",
        )
        parser.add_argument(
            "--allow-introspection",
            action="store_true",
            help="Let this confidential client (a resource server) introspect every token, not "
            "only its own (RFC 7662).",
        )
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="Print the client information as JSON (RFC 7591 §3.2.1), secret included.",
        )

    def handle(self, *args, as_json: bool = False, allow_introspection: bool = False, **options):
        if options.get("jwks_file"):
            options["jwks"] = _read_jwks(options["jwks_file"])
        if not options.get("token_endpoint_auth_method"):
            keyed = options.get("jwks") is not None or options.get("jwks_uri")
            options["token_endpoint_auth_method"] = "private_key_jwt" if keyed else "client_secret_basic"
        metadata = {
            name: options[name]
            for name in (
                "client_name",
                "redirect_uris",
                "grant_types",
                "token_endpoint_auth_method",
                "application_type",
                "scope",
                "client_uri",
                "logo_uri",
                "tos_uri",
                "policy_uri",
                "contacts",
                "software_id",
                "software_version",
                "jwks",
                "jwks_uri",
                "token_endpoint_auth_signing_alg",
                "dpop_bound_access_tokens",
                "id_token_signed_response_alg",
                "post_logout_redirect_uris",
                "default_max_age",
                "require_auth_time",
            )
            if options.get(name) not in (None, [])
        }
        try:
            fields = validate_metadata(metadata)
        except OAuthError as error:
            raise CommandError(error.description) from error
        if allow_introspection:
            if fields["token_endpoint_auth_method"] == Client.AuthMethod.NONE:
                raise CommandError(clients.PUBLIC_CANNOT_INTROSPECT)
            fields["introspection_allowed"] = True
        with transaction.atomic():
            client, secret = clients.create_client(fields, source=Client.Source.COMMAND)
        signals.client_registered.send(sender=Client, client=client, ip="")
        if as_json:
            self.stdout.write(
                json.dumps(ClientInformationSerializer(client, context={"secret": secret}).data, indent=2)
            )
            return
        kind = "public" if client.is_public else "confidential"
        self.stdout.write(f"Created {kind} client {str(client)!r} ({', '.join(client.grant_types)}).")
        self.stdout.write(f"client_id:     {client.client_id}")
        if client.token_endpoint_auth_method == Client.AuthMethod.PRIVATE_KEY_JWT:
            self.stdout.write("It authenticates with private_key_jwt: a JWT signed by its key; no secret.")
        if secret is not None:
            self.stdout.write(f"client_secret: {secret}")
            self.stdout.write(
                self.style.WARNING(
                    "Store the secret now: it is kept only as a digest and cannot be shown again."
                )
            )


def _read_jwks(path: str):
    """The JSON in the file at ``path`` (validated later, with the rest of the metadata)."""
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise CommandError(f"{path} is not a JSON file.") from exc
