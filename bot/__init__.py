"""maintbot: find scheduled jobs that collide with a maintenance window, pause and resume them."""

__version__ = "0.1.0"
