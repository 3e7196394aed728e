"""cablegate: publish an archive of diplomatic cables."""

from .errors import ParseError
from .parse import parse_path, parse_text

__version__ = "0.1.0"
__all__ = ["ParseError", "parse_path", "parse_text", "__version__"]
