"""Any lm-evaluation-harness task run under a KV-cache policy: the task, its lm-eval model bridge, task loading and
the shipped YAML tasks with their seeded documents."""
