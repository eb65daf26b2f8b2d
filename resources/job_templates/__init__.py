"""Built-in job templates (YAML) and their JSON schema; data only."""
