"""The `ortfix` command: scan a local tree, run the service, audit, refresh the version table."""
