"""Packaging glue pyproject.toml cannot express: the top-level ``resources/`` ships as ``guiapp.resources``."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["guiapp", "guiapp.*"]), "guiapp.resources", "guiapp.resources.icons",
              "guiapp.resources.systemd", "guiapp.resources.systemd.user"],
    package_dir={"guiapp.resources": "resources"},
    package_data={"guiapp.resources": ["*.desktop", "*.metainfo.xml"], "guiapp.resources.icons": ["*.svg"],
                  "guiapp.resources.systemd": ["*.service", "*.socket"],
                  "guiapp.resources.systemd.user": ["*.service", "*.socket"]},
)
