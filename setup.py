# scrapyd-deploy builds the project egg with `python setup.py bdist_egg`; without this file
# it writes its own setup.py, which conflicts with pyproject.toml. Everything else is
# configured in pyproject.toml (the Scrapyd entry point included).
#
# Here: the optional C extension newscrawler.dedup._simhash, the SimHash of
# newscrawler.dedup.fingerprint at C speed (no library but Python's). Optional: where it
# cannot be compiled (no compiler, no Python headers) setuptools warns and installs the rest,
# and the module runs its pure Python. `pip install -e .` (make venv) builds it in place, next
# to its source; after editing the C, `.venv/bin/python setup.py build_ext --inplace`.
from setuptools import Extension, setup
from setuptools.command.bdist_egg import bdist_egg


class bdist_egg_pure(bdist_egg):
    """A Scrapyd egg without the extension: an egg runs wherever Scrapyd is (another Python,
    another machine), and the loader bdist_egg writes for an extension cannot import this one
    anyway (the pure Python would run after it had unpacked the library into ~/.cache)."""

    def finalize_options(self) -> None:
        self.distribution.ext_modules = []
        super().finalize_options()


setup(
    ext_modules=[
        Extension(
            "newscrawler.dedup._simhash",
            sources=["newscrawler/dedup/_simhash.c"],
            optional=True,
        )
    ],
    cmdclass={"bdist_egg": bdist_egg_pure},
)
