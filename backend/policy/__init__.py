"""Policy evaluation: the GR00T inference wire format, clients, safety, the run loop and its report."""
