"""`tessera-admin`: the operators' command line for the admin API, spoken through the gateway.

Standard library only, so it runs wherever identity is installed. `text`, `views` and `users`
are pure (layout and the USER rules); `client` is the one place that does HTTP.
"""

from tessera_identity.admin_cli.cli import main

__all__ = ["main"]
