"""The test suite: a package so its helpers (tests.support) import by one name everywhere."""
