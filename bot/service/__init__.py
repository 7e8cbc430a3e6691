"""The running App: the webhook endpoint, the queue and its worker, settings, the setup page, logs."""
