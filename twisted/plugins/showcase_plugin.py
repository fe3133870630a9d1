"""The ``twistd showcase`` plugin: names the tap module, imports nothing heavy."""

from twisted.application.service import ServiceMaker

showcase = ServiceMaker(
    "showcase",
    "showcase.tap",
    "Live ballroom showcase events: router, tenant supervisor and WebSocket hub",
    "showcase",
)
