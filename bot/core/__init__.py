"""The pure core: text in, findings and text out. Imports nothing from the layers above, Flask or PyGithub."""
