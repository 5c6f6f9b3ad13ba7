"""`python -m connectors.cli` runs the salesbot command line."""

from connectors.cli import main

main()
