"""``python -m kraamwacht.cli``: the same command as the ``kraamwacht`` script."""

from kraamwacht.cli import main

main()
