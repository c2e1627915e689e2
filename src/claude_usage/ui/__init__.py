"""The Rich faces: renderables (widgets.py), key input (keys.py) and the live loop (dashboard.py)."""
