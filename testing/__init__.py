"""Test and benchmark support: throwaway servers. No product module imports it (import-linter)."""
