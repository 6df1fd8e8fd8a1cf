"""calhub: a calendar federation hub for a school and its partner organisations."""

__version__ = "0.1.0"
