"""Install segdet: ``pip install -e .`` or ``pip install -e ".[tests]"``."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list[str]:
    """Return the requirement lines of ``requirements/<name>.txt`` (no comments)."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith(('#', '-'))]


def read_version() -> str:
    scope: dict = {}
    exec((HERE / 'segdet' / 'version.py').read_text(), scope)
    return scope['__version__']


setup(
    name='segdet',
    version=read_version(),
    description='A plugin-based toolbox for semantic segmentation and object detection',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools', 'docs')),
    include_package_data=True,
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
        'all': read_requirements('tests') + read_requirements('optional'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
