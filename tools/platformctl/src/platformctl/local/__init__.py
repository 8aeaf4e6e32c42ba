"""The local backend: uvicorn processes per color, caddy in front, Prometheus scraping them."""
