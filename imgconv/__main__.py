"""``python -m imgconv``."""

from imgconv.cli import main

main()
