"""Make an API token for a user from the command line (the page is /accounts/tokens/)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from layers.auth.tokens import ApiToken


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print its key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        name = name.strip()
        if not name or len(name) > 80 or "\x00" in name:
            raise CommandError("--name must be 1–80 characters")
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no active user {username!r}") from None
        _token, key = ApiToken.issue(user, name)
        self.stdout.write(key)
