"""platformctl: the blue/green runbook as a CLI (up, status, deploy, promote, rollback, down)."""
