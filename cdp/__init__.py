"""Rules shared by dbt (as SQL functions), activation and tests: one place for each."""
