"""Plan passes: caches, common calls merged, critical path first."""
