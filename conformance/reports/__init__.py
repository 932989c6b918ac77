"""Report writers: each one a view over findings, with no logic of its own."""
