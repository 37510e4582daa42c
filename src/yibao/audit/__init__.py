"""Audit: the "Twin" contribution-evasion check (labour inspections against the registry) and its inputs."""
