"""``python -m trackway``: the command line."""

from trackway.cli.main import main

main()
