"""Notifications: the in-app centre, e-mail (immediate or daily digest), follows and saved searches."""
