"""The HTTP service around the scoring library: the FastAPI application, its routes, and ``fraud serve``."""
