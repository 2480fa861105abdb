"""``python -m api.cli`` runs the ``edgeperf`` command line."""

from api.cli import main

main()
