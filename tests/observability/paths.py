from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS_DIR = REPO / "grafana-dashboards"
RULES_DIR = REPO / "prometheus" / "rules"
RULE_TESTS_DIR = REPO / "prometheus" / "tests"
DASHBOARD_FILES = sorted(DASHBOARDS_DIR.glob("*.json"))
RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
RULE_TEST_FILES = sorted(RULE_TESTS_DIR.glob("*.yaml"))
