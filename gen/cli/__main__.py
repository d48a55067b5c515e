"""`python -m hlsgen.cli`: the same as the `hlsgen` command."""

import sys

from hlsgen.cli.main import main

sys.exit(main())
