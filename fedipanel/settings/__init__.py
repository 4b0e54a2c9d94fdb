"""The panel's settings: defaults, instance/config.py, the environment and the provider's panel.

`defaults` holds every default, `loading` fills Flask's config when the app is created, and
`effective` builds the one typed `Settings` object from all sources in a documented precedence.
"""
