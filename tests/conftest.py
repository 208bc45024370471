"""Fixtures shared by every test package."""

pytest_plugins = ["makaudit.testing.pytest_plugin"]
