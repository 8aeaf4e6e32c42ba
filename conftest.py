pytest_plugins = ["tests.support.fixtures", "tests.support.images", "tests.support.progress"]
