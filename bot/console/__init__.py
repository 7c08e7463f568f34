"""Officers' console: a small web app to test answers, keep the test set and review citizens' feedback."""
