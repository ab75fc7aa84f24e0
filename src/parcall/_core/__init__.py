"""The types every part of parcall shares: plans, tasks, events, observations, results,
errors, tools. Nothing here imports from the rest of the package."""
