"""monitor: watch Korea-policy feeds and documents and notice when their wording changes."""

__version__ = "0.1.0"
