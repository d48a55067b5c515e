"""`hlsgen build` and `hlsgen deploy` (registered by gen/cli.py)."""


def register(sub) -> None:
    """Adds this module's subcommands to the argparse subparsers `sub`."""
    return None
