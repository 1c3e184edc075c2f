"""The shared-memory work-stealing deque: owner LIFO, thief takes the oldest
half, overflow stays private, and it really is shared across a fork."""

import multiprocessing as mp

from engine.deque import SharedDeque

fork = mp.get_context("fork")


def make(capacity=8, slot=64):
    return SharedDeque(fork.Lock(), capacity=capacity, slot=slot)


def test_owner_pops_newest_first():
    d = make()
    for i in range(5):
        d.push(b"t%d" % i)
    assert [d.pop() for _ in range(5)] == [b"t4", b"t3", b"t2", b"t1", b"t0"]
    assert d.pop() is None


def test_thief_takes_oldest_half():
    d = make()
    for i in range(6):
        d.push(b"t%d" % i)
    assert d.steal() == [b"t0", b"t1", b"t2"]
    assert d.steal() == [b"t3"]
    assert d.pop() == b"t5"
    assert d.steal() == [b"t4"]
    assert d.steal() == []


def test_full_ring_and_oversized_payloads_go_to_private_overflow():
    d = make(capacity=2, slot=16)
    d.push(b"a")
    d.push(b"b")
    d.push(b"c")  # ring full
    d.push(b"x" * 40)  # too big for a slot
    assert d.overflow == [b"c", b"x" * 40]
    assert d.steal() == [b"a"]  # thieves never see the overflow
    assert d.pop() == b"x" * 40
    assert d.pop() == b"c"
    assert d.pop() == b"b"
    assert d.pop() is None


def test_ring_wraps_around():
    d = make(capacity=3)
    for round_ in range(10):
        for i in range(3):
            d.push(b"%d-%d" % (round_, i))
        assert d.steal() == [b"%d-0" % round_]
        assert d.pop() == b"%d-2" % round_
        assert d.pop() == b"%d-1" % round_
    assert d.overflow == []


def _thief(d, q):
    got = []
    while True:
        batch = d.steal()
        if not batch:
            if d.approx_size() == 0:
                break
            continue
        got.extend(batch)
    q.put(got)


def test_concurrent_owner_and_thief_lose_and_duplicate_nothing():
    d = make(capacity=4096, slot=32)
    items = [b"%05d" % i for i in range(3000)]
    for it in items:
        d.push(it)
    q = fork.Queue()
    p = fork.Process(target=_thief, args=(d, q))
    p.start()
    mine = []
    while True:
        x = d.pop()
        if x is None:
            break
        mine.append(x)
    stolen = q.get(timeout=30)
    p.join(timeout=30)
    assert sorted(mine + stolen) == items
