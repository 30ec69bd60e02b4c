"""textservice: a typed, fast client for the Generative Language API's TextService."""

__version__ = "0.1.0"
