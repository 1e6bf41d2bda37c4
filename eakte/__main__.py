"""Run the command line interface: ``python -m eakte``."""

from eakte.cli import main

main()
