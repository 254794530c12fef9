"""Fan-out of small notices ("session 12 changed") to every web process that holds live
streams, so that each can tell its own connections.

Two ways, chosen by settings.LIVE_BROADCAST_URL:
- empty (the embedded default, one process): a notice goes straight to this process's
  event loop;
- a Redis URL (production, several web processes and Celery workers): a notice is
  PUBLISHed on one channel, and each web process keeps one subscription that hands
  notices to its local listeners.

Redis pub/sub keeps nothing: a notice sent while a process is cut off from Redis is lost to
it. So when a subscription comes back after a break, every local listener gets a
`{"type": "resync"}` notice and must check the truth (the database) itself. Notices are
hints; the database is the truth.

Publishing is synchronous and callable from any thread (views, Celery tasks); listening is
asyncio, in the web process's event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Callable

from django.conf import settings

log = logging.getLogger(__name__)

CHANNEL = "hypothesislab:live"
RESYNC = {"type": "resync"}
# After losing Redis, try again this often (seconds).
RECONNECT_EVERY = 0.5
BIG_NOTICE = 64 * 1024  # bytes

Listener = Callable[[dict], None]


_import_lock = threading.Lock()


def redis_modules():
    """The redis package, with redis.asyncio, imported once under one lock. Imported
    lazily (a process without Redis never loads it), the first publish in a thread and
    the first subscription in the event loop would import its modules at once, and
    Python's import locks refused that as a deadlock (seen in the live drawer's first
    second: _DeadlockError on redis._parsers.helpers)."""
    with _import_lock:
        import redis
        import redis.asyncio  # noqa: F401  (loaded beside redis, by the same thread)
    return redis


class Hub:
    """This process's end of the broadcast: local listeners, and the Redis subscription
    that feeds them when there is one."""

    def __init__(self, url: str = "") -> None:
        self.url = url
        self.origin = uuid.uuid4().hex  # this process, to tell its own notices
        self._listeners: set[Listener] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._publisher = None
        self._lock = threading.Lock()
        self.connected: asyncio.Event | None = None  # made with the loop

    # ------------------------------------------------------------ listening (event loop)

    def listen(self, listener: Listener) -> None:
        """Call `listener(notice)` in this event loop for every notice from now on."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new loop (tests start one per test): the old subscription died with its loop.
            self._loop, self._task = loop, None
            self.connected = asyncio.Event()
            if not self.url:
                self.connected.set()
        self._listeners.add(listener)
        if self.url and (self._task is None or self._task.done()):
            self._task = loop.create_task(self._subscribe(), name="broadcast-subscribe")

    def forget(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def _dispatch(self, notice: dict) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception:  # one broken listener must not starve the others
                log.exception("live listener failed")

    async def _subscribe(self) -> None:
        aioredis = redis_modules().asyncio

        broke = False
        while self._listeners:
            client = aioredis.Redis.from_url(self.url)
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(CHANNEL)
                self.connected.set()
                if broke:
                    # Anything published while we were away is lost: make every listener
                    # look at the database.
                    self._dispatch(RESYNC)
                    broke = False
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = message["data"]
                    try:
                        # A drawing of a big session is megabytes: read it beside the
                        # loop, which meanwhile keeps every stream going.
                        notice = (await asyncio.to_thread(json.loads, data)
                                  if len(data) > BIG_NOTICE else json.loads(data))
                    except (TypeError, ValueError):
                        continue
                    self._dispatch(notice)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis restarted or unreachable: retry
                log.warning("live broadcast lost Redis (%s); retrying", error)
                broke = True
                self.connected.clear()
                await asyncio.sleep(RECONNECT_EVERY)
            finally:
                try:
                    await client.aclose()
                except Exception:
                    pass

    # ------------------------------------------------------------ publishing (any thread)

    def publish(self, notice: dict) -> None:
        if self.url:
            self._publish_redis(notice)
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody listens in this process
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._dispatch(notice)
        else:
            loop.call_soon_threadsafe(self._dispatch, notice)

    def claim(self, key: str, *, ms: int) -> bool:
        """May this process do the work named `key`? Yes unless another process claimed it
        within the last `ms` milliseconds (Redis SET NX PX); always yes within one process,
        and when Redis cannot be asked (the work is then done twice, not never)."""
        if not self.url:
            return True
        redis = redis_modules()

        name = f"{CHANNEL}:claim:{key}"
        try:
            client = self._redis()
            # Ours already (this process drew it a moment ago): ours still.
            return bool(client.set(name, self.origin, nx=True, px=ms)) or (
                client.get(name) == self.origin.encode())
        except redis.RedisError:
            return True

    def announce(self, name: str, *, seconds: float) -> None:
        """Say that this process does the work named `name` for the next `seconds` (a
        Redis key that expires: a process that stops stops saying it)."""
        if not self.url:
            return
        redis = redis_modules()

        try:
            self._redis().set(f"{CHANNEL}:here:{name}", self.origin, px=int(seconds * 1000))
        except redis.RedisError as error:
            log.warning("could not announce %s (%s)", name, error)

    def announced(self, name: str) -> bool:
        """Whether some process announced `name` and has not stopped (False without Redis,
        or when Redis cannot be asked)."""
        if not self.url:
            return False
        redis = redis_modules()

        try:
            return bool(self._redis().exists(f"{CHANNEL}:here:{name}"))
        except redis.RedisError:
            return False

    def _redis(self):
        redis = redis_modules()

        with self._lock:
            if self._publisher is None:
                self._publisher = redis.Redis.from_url(self.url, socket_timeout=2,
                                                       socket_connect_timeout=2)
            return self._publisher

    def _publish_redis(self, notice: dict) -> None:
        redis = redis_modules()

        publisher = self._redis()
        try:
            publisher.publish(CHANNEL, json.dumps(notice))
        except redis.RedisError as error:
            # The write that caused it is committed; members whose process missed this
            # notice resync when their subscription comes back, and every stream checks
            # the database on its own every few seconds.
            log.warning("live notice not published (%s)", error)


_hub: Hub | None = None
_hub_lock = threading.Lock()


def hub() -> Hub:
    global _hub
    with _hub_lock:
        url = settings.LIVE_BROADCAST_URL
        if _hub is None or _hub.url != url:
            _hub = Hub(url)
        return _hub


def publish(notice: dict) -> None:
    hub().publish(notice)


_heard_in: dict[Listener, asyncio.AbstractEventLoop] = {}


def listen_here(listener: Listener, new_loop: Callable[[], None]) -> None:
    """Hear every notice with `listener` in the running event loop, from the first call
    in that loop on (later calls cost nothing). In a new loop (tests start one per test),
    `new_loop()` first drops what the old loop's streams left behind."""
    loop = asyncio.get_running_loop()
    if _heard_in.get(listener) is loop:
        return
    _heard_in[listener] = loop
    new_loop()
    hub().listen(listener)
