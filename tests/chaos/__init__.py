"""Chaos tests: a package, so their platform (a package-scoped fixture) is gone before other suites run."""
