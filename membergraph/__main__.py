"""``python -m membergraph``: the ``membergraph`` command (from a tree not installed, say)."""

from membergraph.main import main

main()
