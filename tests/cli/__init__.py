"""The `parcall` command line."""
