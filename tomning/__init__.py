"""The `tomning` command: a thin composition root; each subcommand imports its package lazily."""
