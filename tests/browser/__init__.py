"""Browser tests: the real panel on a local port, driven by Debian's chromium through Playwright."""
