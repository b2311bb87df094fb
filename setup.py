# scrapyd-deploy builds the project egg with `python setup.py bdist_egg`; without this file
# it writes its own setup.py, which conflicts with pyproject.toml. Everything is configured
# in pyproject.toml (the Scrapyd entry point included).
from setuptools import setup

setup()
