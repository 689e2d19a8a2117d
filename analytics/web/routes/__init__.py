"""The dashboard's routes: the JSON API (api.py) and the pages and assets (pages.py)."""
