"""Plans, tools, toolsets, schemas, observations, outcomes and the public names."""
