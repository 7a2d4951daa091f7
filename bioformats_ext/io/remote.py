"""Remote byte sources. Placeholder until the remote-reads issue lands: raises a clear error."""

from __future__ import annotations

from ..errors import RemoteError


def open_url(url: str, **options):
    raise RemoteError(f"remote sources are not supported yet: {url}")
