"""The planner on plain data: Entry tuples in, typed actions out (no I/O)."""

from __future__ import annotations

import stat

import pytest

from engine.plan import Action, Op, PlanOptions, file_unchanged, itemize_sigil, plan_directory
from engine.walk import KIND_DIR, KIND_FILE, KIND_LINK, KIND_SPECIAL, Entry

TAG = "0123abcd"
OTHER_TAG = "deadbeef"
T = 1_600_000_000_000_000_000


def f(name, size=10, mtime=T, perm=0o644, uid=0, gid=0):
    return Entry(name, KIND_FILE, stat.S_IFREG | perm, size, mtime, uid=uid, gid=gid)


def d(name, mtime=T, perm=0o755):
    return Entry(name, KIND_DIR, stat.S_IFDIR | perm, 4096, mtime)


def ln(name, target="t", mtime=T):
    return Entry(name, KIND_LINK, stat.S_IFLNK | 0o777, len(target), mtime, target=target)


def fifo(name, mtime=T, perm=0o644):
    return Entry(name, KIND_SPECIAL, stat.S_IFIFO | perm, 0, mtime)


def sock(name, mtime=T):
    return Entry(name, KIND_SPECIAL, stat.S_IFSOCK | 0o755, 0, mtime)


def shallow(name, kind):
    """What the walker gives for a DST entry without a SRC twin."""
    return Entry(name, kind)


def opts(**kw):
    kw.setdefault("run_tag", TAG)
    return PlanOptions(**kw)


def plan(src, dst, digests=None, **kw):
    return plan_directory(sorted(src), sorted(dst), opts(**kw), digests)


def ops(actions):
    return [(a.op, a.name) for a in actions]


# --- new entries -----------------------------------------------------------------

def test_new_entries_by_kind():
    acts = plan([f("a"), d("b"), ln("c"), fifo("e")], [])
    assert ops(acts) == [(Op.COPY, "a"), (Op.SYMLINK, "c"), (Op.SKIP, "e"), (Op.MKDIR, "b")]
    skip = acts[2]
    assert skip.reason == "special file" and skip.dst is None
    assert all(a.src is not None and a.src.name == a.name for a in acts)


def test_new_special_with_specials_allowed():
    acts = plan([fifo("p"), sock("s")], [], specials=True)
    assert ops(acts) == [(Op.SPECIAL, "p"), (Op.SPECIAL, "s")]
    assert [itemize_sigil(a) for a in acts] == ["+", "+"]


# --- extra entries (DST only) ----------------------------------------------------

def test_extras_kept_without_delete():
    assert plan([], [shallow("x", KIND_FILE), shallow("y", KIND_DIR)]) == []


def test_extras_deleted_with_delete_after_everything_else():
    acts = plan([f("b"), d("c")], [shallow("a", KIND_FILE), shallow("z", KIND_DIR)], delete=True)
    assert ops(acts) == [(Op.COPY, "b"), (Op.MKDIR, "c"), (Op.DELETE, "a"), (Op.DELETE, "z")]
    assert acts[3].dst.kind == KIND_DIR and acts[3].src is None


@pytest.mark.parametrize("delete", [False, True])
def test_stale_temp_of_another_run_is_deleted_first(delete):
    stale = f".stealsync-{OTHER_TAG}-1a2b-3.tmp"
    acts = plan([f("a")], [shallow(stale, KIND_FILE)], delete=delete)
    assert ops(acts) == [(Op.DELETE_TEMP, stale), (Op.COPY, "a")]
    assert itemize_sigil(acts[0]) is None  # never itemized


@pytest.mark.parametrize("delete", [False, True])
def test_temp_of_this_run_is_never_touched(delete):
    # Regression: with --delete, a slice of a split directory listed another
    # worker's in-flight temp of this run and deleted it.
    own = f".stealsync-{TAG}-1a2b-3.tmp"
    assert plan([], [shallow(own, KIND_FILE)], delete=delete) == []


@pytest.mark.parametrize("name", [".stealsync-notes", ".stealsync-deadbeef-1-1.tmpx",
                                  ".stealsync-DEADBEEF-1-1.tmp", ".stealsync-dead-1-1.tmp"])
def test_names_that_only_look_like_temps_are_normal_entries(name):
    assert plan([], [shallow(name, KIND_FILE)]) == []
    assert ops(plan([], [shallow(name, KIND_FILE)], delete=True)) == [(Op.DELETE, name)]


def test_src_file_named_like_a_stale_temp_is_mirrored():
    name = f".stealsync-{OTHER_TAG}-1-1.tmp"
    assert ops(plan([f(name)], [])) == [(Op.COPY, name)]
    assert plan([f(name)], [f(name)]) == []


# --- pairs ------------------------------------------------------------------------

def test_identical_entries_plan_nothing():
    same = [f("a"), ln("c"), fifo("e")]
    assert plan(same, same, specials=True, owner=True) == []
    assert [a.op for a in plan(same, same)] == [Op.SKIP]  # specials not allowed
    assert ops(plan([d("b")], [d("b")])) == [(Op.RECURSE, "b")]  # its task decides


def test_directory_pair_recurses():
    acts = plan([d("b", mtime=T + 1, perm=0o700)], [d("b")])
    assert ops(acts) == [(Op.RECURSE, "b")]
    assert acts[0].src.perm == 0o700 and acts[0].dst.perm == 0o755
    assert itemize_sigil(acts[0]) is None


@pytest.mark.parametrize("s,dd,op,reason", [
    (f("a", size=11), f("a"), Op.UPDATE, "size"),
    (f("a", mtime=T + 1), f("a"), Op.UPDATE, "mtime"),
    (f("a", perm=0o600), f("a"), Op.META, ""),
    (ln("a", "x"), ln("a", "y"), Op.SYMLINK, "target"),
    (ln("a", mtime=T + 5), ln("a"), Op.META, ""),
])
def test_file_and_link_changes(s, dd, op, reason):
    acts = plan([s], [dd])
    assert ops(acts) == [(op, "a")]
    assert acts[0].reason == reason
    assert acts[0].src is s and acts[0].dst is dd
    assert itemize_sigil(acts[0]) == "*"


def test_owner_compared_only_when_asked():
    s, dd = f("a", uid=1000, gid=100), f("a")
    assert plan([s], [dd]) == []
    assert ops(plan([s], [dd], owner=True)) == [(Op.META, "a")]


def test_symlink_mode_is_ignored():
    s = ln("a")._replace(mode=stat.S_IFLNK | 0o755)
    assert plan([s], [ln("a")]) == []


@pytest.mark.parametrize("s,dd,expected", [
    # non-directory over non-directory: replaced by one atomic rename
    (f("a"), ln("a"), [(Op.UPDATE, "a")]),
    (ln("a"), f("a"), [(Op.SYMLINK, "a")]),
    # a directory on either side: remove DST's entry first
    (f("a"), d("a"), [(Op.REMOVE_FOR_TYPE, "a"), (Op.COPY, "a")]),
    (d("a"), f("a"), [(Op.REMOVE_FOR_TYPE, "a"), (Op.MKDIR, "a")]),
    (ln("a"), d("a"), [(Op.REMOVE_FOR_TYPE, "a"), (Op.SYMLINK, "a")]),
    (d("a"), ln("a"), [(Op.REMOVE_FOR_TYPE, "a"), (Op.MKDIR, "a")]),
])
def test_type_changes(s, dd, expected):
    acts = plan([s], [dd])
    assert ops(acts) == expected
    assert acts[0].reason == "type"
    assert acts[0].dst is dd
    assert [itemize_sigil(a) for a in acts][:1] == ["-" if len(expected) == 2 else "*"]


def test_type_change_to_special():
    acts = plan([fifo("a")], [f("a")], specials=True)
    assert ops(acts) == [(Op.SPECIAL, "a")] and itemize_sigil(acts[0]) == "*"
    assert ops(plan([fifo("a")], [d("a")], specials=True)) == [
        (Op.REMOVE_FOR_TYPE, "a"), (Op.SPECIAL, "a")]
    # without specials the DST entry is left alone
    acts = plan([fifo("a")], [d("a")])
    assert ops(acts) == [(Op.SKIP, "a")] and acts[0].reason == "special file"


def test_special_kind_change_and_rdev():
    assert ops(plan([sock("a")], [fifo("a")], specials=True)) == [(Op.SPECIAL, "a")]
    c1 = Entry("c", KIND_SPECIAL, stat.S_IFCHR | 0o600, 0, T, rdev=0x0103)
    c2 = c1._replace(rdev=0x0105)
    assert ops(plan([c1], [c2], specials=True)) == [(Op.SPECIAL, "c")]
    assert ops(plan([c1], [c1._replace(mode=stat.S_IFCHR | 0o666)], specials=True)) == [
        (Op.META, "c")]


# --- checksum ------------------------------------------------------------------------

def test_checksum_uses_digests_for_equal_sizes():
    s, dd = f("a"), f("a")
    same = {"a": (b"1" * 16, b"1" * 16)}
    differ = {"a": (b"1" * 16, b"2" * 16)}
    assert plan([s], [dd], same, checksum=True) == []
    acts = plan([s], [dd], differ, checksum=True)
    assert ops(acts) == [(Op.UPDATE, "a")] and acts[0].reason == "checksum"
    # without -c equal size+mtime means equal, whatever the digests say
    assert plan([s], [dd], differ) == []


def test_checksum_missing_digest_means_update():
    acts = plan([f("a")], [f("a")], {}, checksum=True)
    assert ops(acts) == [(Op.UPDATE, "a")]
    assert ops(plan([f("a")], [f("a")], None, checksum=True)) == [(Op.UPDATE, "a")]


def test_checksum_same_content_other_mtime_is_meta_only():
    acts = plan([f("a", mtime=T + 9)], [f("a")], {"a": (b"x", b"x")}, checksum=True)
    assert ops(acts) == [(Op.META, "a")]


def test_checksum_size_difference_needs_no_digest():
    acts = plan([f("a", size=3)], [f("a")], {}, checksum=True)
    assert ops(acts) == [(Op.UPDATE, "a")] and acts[0].reason == "size"


# --- ordering -------------------------------------------------------------------------

def test_phase_order_within_a_directory():
    stale = f".stealsync-{OTHER_TAG}-1-1.tmp"
    src = [f("a"), d("b"), ln("c"), f("e", size=1), d("g"), f("h")]
    dst = [shallow(stale, KIND_FILE), f("a2"), d("b"), f("c"), shallow("d", KIND_DIR),
           f("e"), d("h"), ln("z")]
    acts = plan(src, dst, delete=True)
    assert ops(acts) == [
        (Op.DELETE_TEMP, stale),
        (Op.REMOVE_FOR_TYPE, "h"),
        (Op.COPY, "a"),
        (Op.SYMLINK, "c"),
        (Op.UPDATE, "e"),
        (Op.COPY, "h"),
        (Op.RECURSE, "b"),
        (Op.MKDIR, "g"),
        (Op.DELETE, "a2"),
        (Op.DELETE, "d"),
        (Op.DELETE, "z"),
    ]


def test_merge_join_on_many_names_is_complete():
    names = [f"n{i:04d}" for i in range(500)]
    src = [f(n) for n in names[::2]] + [f(n, size=1) for n in names[1::4]]
    dst = [f(n) for n in names[::3]]
    acts = plan(src, dst, delete=True)
    got = {a.name: a.op for a in acts}
    for n in names:
        in_s, in_d = n in {e.name for e in src}, n in {e.name for e in dst}
        if in_s and not in_d:
            assert got[n] == Op.COPY
        elif in_d and not in_s:
            assert got[n] == Op.DELETE
        elif in_s and in_d:
            s = next(e for e in src if e.name == n)
            assert got.get(n) == (Op.UPDATE if s.size != 10 else None)
        else:
            assert n not in got


def test_non_utf8_and_odd_names_pair_up():
    names = ["a\nb", "b\\c", "\udcff\udcfe", "é", "\U0001f600", "-x", " "]
    src = sorted(f(n) for n in names)
    assert plan(src, src) == []
    assert ops(plan(src, [])) == [(Op.COPY, n) for n in sorted(names)]


def test_action_is_plain_data():
    a = plan([f("a")], [])[0]
    assert isinstance(a, Action) and isinstance(a, tuple)
    assert a == Action(Op.COPY, "a", f("a"), None, "")


def test_a_file_passed_as_its_own_twin_plans_nothing():
    # The walk's no-change fast path hands the plan the SRC entry itself as
    # the DST twin; only regular files take that shortcut.
    a = f("a")
    assert plan([a], [a], delete=True) == []
    other = f("a", mtime=T + 1)
    assert ops(plan([a], [other])) == [(Op.UPDATE, "a")]


def test_file_unchanged_is_the_plans_own_quick_check():
    from types import SimpleNamespace

    a = f("a")

    def stat(**kw):  # the fields of an os.stat_result the check reads
        base = dict(st_mode=a.mode, st_size=a.size, st_mtime_ns=a.mtime_ns,
                    st_uid=a.uid, st_gid=a.gid)
        return SimpleNamespace(**{**base, **kw})

    assert file_unchanged(a, stat(), PlanOptions())
    assert not file_unchanged(a, stat(), PlanOptions(checksum=True))
    assert not file_unchanged(a, stat(st_mtime_ns=a.mtime_ns + 1), PlanOptions())
    assert not file_unchanged(a, stat(st_size=a.size + 1), PlanOptions())
    assert not file_unchanged(a, stat(st_mode=a.mode ^ 0o100), PlanOptions())
    assert file_unchanged(a, stat(st_uid=a.uid + 1), PlanOptions())
    assert not file_unchanged(a, stat(st_uid=a.uid + 1), PlanOptions(owner=True))
