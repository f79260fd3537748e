"""Telling people about their tickets: in-app notifications, Web Push and email, each delivery
recorded and retried until it goes through (README "Notifications")."""
