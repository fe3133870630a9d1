"""Real-time updates: the WebSocket hub in the router and the bus behind it.

- :mod:`showcase.cable.streams`: which streams a connection may subscribe to.
- :mod:`showcase.cable.bus`: ``IBus`` with ``RedisBus`` (txredisapi) and the
  in-memory twin ``MemoryBus``; channel ``cable:<stream>``.
- :mod:`showcase.cable.hub`: the Autobahn protocol, its factory and the
  subscription registry (``Hub``), mounted on the router's own port at
  ``<root_path>/cable`` and ``<tenant path>cable``.
- :mod:`showcase.cable.redis_url`: ``Target``, a Redis URL parsed (no txredisapi, no TLS
  stack: the event app's publisher uses it too).
- :mod:`showcase.cable.redis_process`: ``redis.url``, or the ``redis-server``
  the router runs itself.

Nothing is imported here: the router's dispatcher needs only the stream rules.
"""
