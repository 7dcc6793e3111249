"""One module per CLI verb (or family of verbs); each defines ``register(subparsers)``."""
