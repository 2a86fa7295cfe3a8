from . import cli, demo, environment, hear, notebook
