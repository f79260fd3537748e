"""What every app shares and that imports no app: roles, permissions, errors, pagination, env readers."""
