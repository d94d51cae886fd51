from __future__ import annotations

import asyncio
import sys
import threading
import types

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from realtime import handlers


@pytest.fixture
def server_loop(monkeypatch):
    """An event loop running in another thread, posing as daphne's."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(sys.modules, "daphne.server", types.SimpleNamespace(twisted_loop=loop))
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def test_in_memory_send_from_another_thread_runs_on_the_servers_loop(server_loop):
    layer = get_channel_layer()

    async def join() -> str:
        await layer.flush()
        channel = await layer.new_channel()
        await layer.group_add("user-7", channel)
        return channel

    channel = asyncio.run_coroutine_threadsafe(join(), server_loop).result(timeout=5)
    receiving = asyncio.run_coroutine_threadsafe(layer.receive(channel), server_loop)
    handlers.send_to_user(7, "<p>hi</p>")
    # The server loop is idle: only a thread-safe hand-off wakes the waiting receiver.
    assert receiving.result(timeout=2) == {"type": "live.fragment", "html": "<p>hi</p>"}


def test_without_a_server_loop_it_sends_directly():
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("user-8", channel)
    handlers.send_to_user(8, "<p>x</p>")
    assert async_to_sync(layer.receive)(channel)["html"] == "<p>x</p>"
