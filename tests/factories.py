import factory
from django.contrib.auth import get_user_model

from twenty_oauth import registration
from twenty_oauth.models import Client
from twenty_oauth.serializers import validate_metadata


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_client(source=Client.Source.ADMIN, **metadata):
    """A client and its secret, made through the same validation as registration."""
    metadata.setdefault("client_name", "Test App")
    metadata.setdefault("redirect_uris", ["https://app.example.com/callback"])
    metadata.setdefault("token_endpoint_auth_method", "client_secret_post")
    extra = {k: metadata.pop(k) for k in ("client_credentials_allowed", "is_active") if k in metadata}
    fields = validate_metadata(metadata)
    fields.update(extra)
    return registration.create_client(fields, source=source)
