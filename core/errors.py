def error_first_line(exc: BaseException) -> str:
    """What a log line or a stored reason says of an exception: its message's first line (database drivers
    add lines of detail and context), or its class name when it has no message."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
