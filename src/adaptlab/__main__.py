"""``python -m adaptlab`` runs the command-line interface."""

from adaptlab.cli import main

main()
