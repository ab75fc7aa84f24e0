"""Running a plan: the executor, sync calls, the pass hook, approval, policy, the journal,
the model call and its timing."""
