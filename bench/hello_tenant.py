"""A twisted.web hello-world tenant: the backend the benchmarks measure against.

Listens on 127.0.0.1:$PORT and prints the ready line once listening.
"""

import json
import os
import sys

from twisted.internet import reactor
from twisted.web import resource, server


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain")
        return b"Hello, world!\n"


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    site = server.Site(Hello())
    site.noisy = False
    site.log = lambda request: None  # type: ignore[method-assign]
    listening = reactor.listenTCP(port, site, interface="127.0.0.1")  # type: ignore[arg-type]
    print(json.dumps({"ready": True, "port": port or listening.getHost().port}), flush=True)  # type: ignore[attr-defined]
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
