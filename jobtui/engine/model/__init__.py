"""Pure model: the job spec and every option schema, errors, durations, result types. No I/O."""
