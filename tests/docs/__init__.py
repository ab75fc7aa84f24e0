"""The README, the docs pages and site, the wheel and the repository's files."""
