"""The frame scheduler: one request in flight, the wanted frame first, neighbours next, and while
the slider is dragged the frames that arrive are shown until the wanted one does."""
from __future__ import annotations

from ui.panel.framecache import FrameCache, PreviewCache


class Recorder:
    def __init__(self):
        self.fetches = []   # (frame, done) waiting for an answer
        self.shown = []

    def fetch(self, frame, view_key, done):
        self.fetches.append((frame, view_key, done))

    def answer(self, i=0):
        frame, view_key, done = self.fetches.pop(i)
        done(frame, view_key, f"image{frame}")


def test_wanted_first_then_neighbours_one_at_a_time():
    r = Recorder()
    cache = FrameCache(r.fetch, lambda f, img: r.shown.append(f), capacity=8, max_in_flight=1, prefetch=2)
    cache.reset(list(range(1, 11)))
    cache.request(5)
    assert [f for f, _k, _d in r.fetches] == [5]
    r.answer()
    assert r.shown == [5] and [f for f, _k, _d in r.fetches] == [6]
    r.answer()
    order = []
    while r.fetches:
        order.append(r.fetches[0][0])
        r.answer()
    assert order == [4, 7, 3]
    assert r.shown == [5]          # neighbours are cached, not shown
    cache.request(6)
    assert r.shown == [5, 6]       # from the cache at once
    small = FrameCache(r.fetch, lambda f, img: None, capacity=3, max_in_flight=1, prefetch=2)
    small.reset(list(range(1, 11)))
    small.request(5)
    for _ in range(10):            # prefetching never outgrows the cache (no fetch/evict cycle)
        if r.fetches:
            r.answer()
    assert not r.fetches and len(small) == 3


def test_drag_shows_arriving_frames_but_never_replaces_the_wanted_one():
    r = Recorder()
    cache = FrameCache(r.fetch, lambda f, img: r.shown.append(f), max_in_flight=1, prefetch=0)
    cache.reset(list(range(1, 21)))
    cache.request(1)
    cache.request(5)   # dragged on while 1 is decoding
    cache.request(9)
    r.answer()         # 1 arrives: shown (the picture keeps moving), then 9 is asked for
    assert r.shown == [1] and r.fetches[0][0] == 9
    r.answer()
    assert r.shown == [1, 9]
    cache.request(12)  # a miss: 12 goes out
    cache.request(9)   # back to a cached frame: shown at once
    r.answer()         # 12 arrives late: must not replace 9
    assert r.shown == [1, 9, 9]


def test_view_change_refetches_and_preview_cache_is_bounded():
    r = Recorder()
    cache = FrameCache(r.fetch, lambda f, img: r.shown.append(f), max_in_flight=1, prefetch=0)
    cache.reset([1, 2, 3], view_key=("sRGB", None))
    cache.request(2)
    r.answer()
    cache.set_view_key(("sRGB", "Raw"))
    assert r.fetches[0][:2] == (2, ("sRGB", "Raw"))
    previews = PreviewCache(capacity=3)
    for f in range(10):
        previews.put(f, f)
    assert previews.frames() == [7, 8, 9]
