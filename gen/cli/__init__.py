"""The `hlsgen` command line: a thin layer over the Python API (hlsgen.api)
that parses options and prints tables (main; board and report subcommands)."""
