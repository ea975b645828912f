"""The one exception type that means: the user's config or input is wrong (exit status 2)."""


class UserError(Exception):
    """Invalid config or input. The message names the culprit and says what would be valid."""
