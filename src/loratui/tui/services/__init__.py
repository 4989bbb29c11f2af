"""App-level services: long-lived state and workers that outlive a screen."""
