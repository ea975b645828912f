"""The one exception type that means: the user's config or input is wrong (exit status 2), and the checks of
numeric settings that raise it."""


class UserError(Exception):
    """Invalid config or input. The message names the culprit and says what would be valid."""


def at_least(key: str, value, minimum) -> None:
    if value is None or value < minimum:
        raise UserError(f"{key}={value} must be at least {minimum}")


def strictly_between(key: str, value, low, high) -> None:
    if value is None or not low < value < high:
        raise UserError(f"{key}={value} must be strictly between {low} and {high}")
