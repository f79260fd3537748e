"""The demo: its plant and logins (seed), its replayed past (history) and the whole system in one process (runtime)."""
