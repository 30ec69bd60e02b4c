"""The client a facade call goes through: the one passed, or the default one."""

from __future__ import annotations

from textservice.client import Client, get_default_client

__all__ = ["get_client"]


def get_client(client: object) -> Client:
    """``client`` itself, or the default client (configured by ``configure``/``GOOGLE_API_KEY``)."""
    if client is None:
        return get_default_client()
    if not isinstance(client, Client):
        raise TypeError(f"client must be a Client or None, got {type(client).__name__}")
    return client
