"""What a user may change about a report's look from YAML: logo, theme colours, template folder. Everything is
checked before any work: a bad file, colour or template is exit 2 naming it."""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from postreport.errors import UserError
from postreport.resources import resource_dir
from postreport.report.render_html import environment, template_error

THEME_KEYS = ("accent", "ink", "muted", "line", "warn", "bad", "ok", "header")
COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\([0-9., %]+\))$")
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
MAX_LOGO_BYTES = 2_000_000


def theme(values: dict) -> dict:
    """Validated CSS colours (they go into the page's stylesheet, so nothing else may)."""
    out = {}
    for key, value in values.items():
        if key not in THEME_KEYS:
            raise UserError(f"report.theme.{key} is not a theme colour; valid: {', '.join(THEME_KEYS)}")
        if not COLOUR.match(str(value)):
            raise UserError(f"report.theme.{key}={value!r} is not a CSS colour; use #RRGGBB, rgb(...) or a name")
        out[key] = str(value)
    return out


def logo(path) -> str | None:
    """The logo file as a data URI."""
    if not path:
        return None
    p = Path(path).expanduser()
    kind = LOGO_TYPES.get(p.suffix.lower())
    if kind is None:
        raise UserError(f"report.logo={path!r}: use a {', '.join(LOGO_TYPES)} file")
    if not p.is_file():
        raise UserError(f"report.logo={path!r}: file not found (relative paths are taken from {Path.cwd()})")
    if p.stat().st_size > MAX_LOGO_BYTES:
        raise UserError(f"report.logo={path!r} is {p.stat().st_size // 1000} kB; keep it under "
                        f"{MAX_LOGO_BYTES // 1000} kB")
    data = p.read_bytes()
    if not _is_image(data, kind):
        raise UserError(f"report.logo={path!r} is named {p.suffix} but is not a {kind.split('/')[1].split('+')[0].upper()} "
                        "image; give a PNG, JPEG or SVG file")
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def _is_image(data: bytes, kind: str) -> bool:
    """The content is what the name says: a PNG or JPEG signature, or an SVG document that parses."""
    if kind == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff")

    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return False
    return root.tag.rsplit("}", 1)[-1] == "svg"


def template_dirs(user_dir) -> tuple:
    """The folders Jinja searches: the user's first, then the built-in templates. Syntax errors surface here."""
    builtin = str(resource_dir("templates"))
    if not user_dir:
        return (builtin,)
    folder = Path(user_dir).expanduser()
    if not folder.is_dir():
        raise UserError(f"report.template_dir={user_dir!r} is not a folder")
    dirs = (str(folder.resolve()), builtin)

    env = environment(dirs)
    for path in sorted(folder.rglob("*.j2")):
        name = path.relative_to(folder).as_posix()
        try:
            env.get_template(name)
        except Exception as exc:
            raise template_error(exc, name) from None
    return dirs
