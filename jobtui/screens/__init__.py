"""The dashboard's screens: one module per screen, a package for a big one (wizard/).

screens/base.py holds what they share; screens/registry.py builds them for the app.
Nothing is imported here, so a pure module (wizard/collect.py) loads without Textual.
"""
