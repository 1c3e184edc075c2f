"""End-to-end, one option at a time: the real CLI on real trees."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import T0, build, link, mkdir, ok, put, run_sync, set_immutable
from treecmp import compare, compare_snapshots, snapshot, temps


def scenario(src, dst):
    """A DST that differs from SRC in every way the planner knows about."""
    build(src, {
        "new": {"f1": b"one", "sub": {"f2": b"two"}},
        "same.txt": b"same",
        "upd.txt": b"new content",
        "meta.txt": b"meta",
        "lnk": ("link", "target-one"),
        "file2dir": {"inner": b"i"},
        "dir2file": b"now a file",
        "link2file": b"was a link",
        "file2link": ("link", "somewhere"),
        "keep": {"old": b"o", "added": b"a"},
        "chmod": {"c": b"c"},
        "mtimeonly": {"m": b"m"},
    })
    build(dst, {
        "same.txt": b"same",
        "upd.txt": b"old",
        "meta.txt": b"meta",
        "lnk": ("link", "target-two"),
        "file2dir": b"was a file",
        "dir2file": {"deep": {"x": b"x"}, "y": b"y"},
        "link2file": ("link", "nowhere"),
        "file2link": b"was a file",
        "keep": {"old": b"o"},
        "chmod": {"c": b"c"},
        "mtimeonly": {"m": b"m"},
        "gone.txt": b"bye",
        "gonedir": {"a": {"b": b"b", "c": b"c"}, "z": b"z"},
    })
    os.chmod(src / "meta.txt", 0o600)
    os.chmod(src / "chmod", 0o700)
    os.utime(src / "keep", ns=(T0 + 10**9, T0 + 10**9))  # as if 'added' bumped it
    os.utime(src / "mtimeonly", ns=(T0 + 5, T0 + 5))
    os.utime(src, ns=(T0, T0))


EXPECTED_ITEMS = {
    "+ new/", "+ new/f1", "+ new/sub/", "+ new/sub/f2",
    "* upd.txt", "* meta.txt", "* lnk",
    "- file2dir", "+ file2dir/", "+ file2dir/inner",
    "- dir2file/deep/x", "- dir2file/deep/", "- dir2file/y", "- dir2file/", "+ dir2file",
    "* link2file", "* file2link",
    "+ keep/added", "* chmod/", "* mtimeonly/",
    "- gone.txt", "- gonedir/a/b", "- gonedir/a/c", "- gonedir/a/", "- gonedir/z", "- gonedir/",
}


# --- -n / --dry-run --------------------------------------------------------------

@pytest.mark.parametrize("workers", ["1", "2"])
def test_dry_run_writes_nothing_and_itemizes_like_the_real_run(src, dst, workers):
    scenario(src, dst)
    before = snapshot(dst)
    args = ["-i", "--delete", "--workers", workers, "--pool-threshold", "0"]
    dry = ok(run_sync(src, dst, "-n", *args))
    assert snapshot(dst) == before, "dry run wrote to DST"
    real = ok(run_sync(src, dst, *args))
    assert sorted(dry.lines) == sorted(real.lines)
    assert set(real.lines) == EXPECTED_ITEMS
    assert len(real.lines) == len(EXPECTED_ITEMS)
    assert not compare(src, dst)


def test_dry_run_json_counters_equal_the_real_run(src, dst):
    scenario(src, dst)
    dry = ok(run_sync(src, dst, "-n", "--delete", "--json")).json
    real = ok(run_sync(src, dst, "--delete", "--json")).json
    keys = ["files_total", "files_copied", "files_updated", "files_deleted", "dirs_created",
            "dirs_deleted", "bytes_copied"]
    assert {k: dry[k] for k in keys} == {k: real[k] for k in keys}
    assert real["files_deleted"] == 7 and real["dirs_deleted"] == 4


def test_dry_run_into_a_missing_dst_creates_nothing(src, dst):
    build(src, {"a": {"b": b"x"}, "l": ("link", "a")})
    run = ok(run_sync(src, dst, "-n", "-i"))
    assert not os.path.lexists(dst)
    assert sorted(run.lines) == ["+ a/", "+ a/b", "+ l"]


# --- --delete / --delete-excluded -------------------------------------------------

def test_without_delete_extras_stay(src, dst):
    build(src, {"a": b"a"})
    build(dst, {"extra": b"e", "xd": {"y": b"y"}})
    run = ok(run_sync(src, dst, "-i"))
    assert run.lines == ["+ a"]
    assert (dst / "extra").read_bytes() == b"e" and (dst / "xd" / "y").exists()


def test_delete_removes_extras_but_not_excluded_ones(src, dst):
    build(src, {"a": b"a", "sub": {"k": b"k"}})
    build(dst, {"extra": b"e", "x.log": b"l", "sub": {"k": b"k", "e2": b"e", "y.log": b"y"}})
    run = ok(run_sync(src, dst, "-i", "--delete", "--exclude", "*.log"))
    assert sorted(run.lines) == ["+ a", "- extra", "- sub/e2"]
    assert (dst / "x.log").exists() and (dst / "sub" / "y.log").exists()


def test_delete_excluded_removes_excluded_dst_entries(src, dst):
    build(src, {"a": b"a", "x.log": b"src log", "cache": {"c": b"c"}})
    build(dst, {"x.log": b"l", "cache": {"c": b"c"}, "sub": {"y.log": b"y"}})
    run = ok(run_sync(src, dst, "-i", "--delete-excluded", "--exclude", "*.log",
                      "--exclude", "cache/"))
    assert sorted(run.lines) == ["+ a", "- cache/", "- cache/c", "- sub/", "- sub/y.log",
                                 "- x.log"]
    assert sorted(os.listdir(dst)) == ["a"]


# --- --max-delete ---------------------------------------------------------------

def _five_deletions(src, dst):
    build(src, {"keep": b"k"})
    build(dst, {"keep": b"k", "e1": b"1", "e2": b"2", "d": {"x": b"x", "y": b"y"}})


@pytest.mark.parametrize("limit,code,left", [
    (None, 0, 0), ("5", 0, 0), ("6", 0, 0), ("4", 25, 1), ("2", 25, 3), ("0", 25, 5)])
def test_max_delete(src, dst, limit, code, left):
    _five_deletions(src, dst)
    args = ["--delete", "--json", "--workers", "1"] + (["--max-delete", limit] if limit else [])
    run = run_sync(src, dst, *args)
    assert run.code == code, run
    remaining = [k for k in snapshot(dst) if k not in (b"", b"keep")]
    assert len(remaining) == left
    res = run.json
    assert res["files_deleted"] + res["dirs_deleted"] == 5 - left
    if code == 25:
        assert "max-delete" in run.err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_max_delete_withholding_a_type_change_leaves_the_entry_alone(src, dst, workers):
    """Regression: with the removal of a DST directory withheld, the dry run
    itemized '+ name' and exited 25 while the real run failed to create it
    over the directory ('Is a directory') and exited 23."""
    build(src, {"was-dir": b"now a file", "was-dir2": ("link", "x"), "was-file": {"f": b"f"}})
    build(dst, {"was-dir": {"x": b"x"}, "was-dir2": {}, "was-file": b"a file"})
    args = ["--max-delete", "0", "-i", "--workers", workers, "--pool-threshold", "0"]
    before = snapshot(dst)
    dry = run_sync(src, dst, "-n", *args)
    real = run_sync(src, dst, *args)
    assert (dry.code, dry.lines) == (real.code, real.lines) == (25, []), (dry, real)
    assert "error" not in real.err and real.err.count("--max-delete limit reached") == 3
    assert compare_snapshots(snapshot(dst), before, root_meta=False) == []
    ok(run_sync(src, dst))
    assert compare(src, dst) == []


def test_max_delete_zero_with_nothing_to_delete_is_success(src, dst):
    build(src, {"a": b"a"})
    ok(run_sync(src, dst, "--delete", "--max-delete", "0"))
    assert not compare(src, dst)


# --- --force-empty-src --------------------------------------------------------------

def test_delete_with_an_empty_src_is_refused(src, dst):
    build(dst, {"precious": b"p", "d": {"x": b"x"}})
    before = snapshot(dst)
    run = run_sync(src, dst, "--delete")
    assert run.code == 1, run
    assert "empty" in run.err and "--force-empty-src" in run.err
    assert snapshot(dst) == before


def test_force_empty_src_empties_dst(src, dst):
    build(dst, {"precious": b"p", "d": {"x": b"x"}})
    run = ok(run_sync(src, dst, "--delete", "--force-empty-src", "-i"))
    assert sorted(run.lines) == ["- d/", "- d/x", "- precious"]
    assert os.listdir(dst) == []


def test_empty_src_without_delete_is_fine(src, dst):
    build(dst, {"precious": b"p"})
    ok(run_sync(src, dst))
    assert (dst / "precious").read_bytes() == b"p"


# --- --exclude / --exclude-from ----------------------------------------------------

def test_exclude_later_pattern_wins(src, dst):
    build(src, {"a.log": b"a", "keep.log": b"k", "b.txt": b"b",
                "build": {"out": b"o"}, "sub": {"c.log": b"c", "build": {"x": b"x"}}})
    run = ok(run_sync(src, dst, "-i", "--exclude", "*.log", "--exclude", "!keep.log",
                      "--exclude", "/build/"))
    assert sorted(run.lines) == ["+ b.txt", "+ keep.log", "+ sub/", "+ sub/build/",
                                 "+ sub/build/x"]


def test_exclude_from_file_in_command_line_order(src, dst, tmp_path):
    build(src, {"a.tmp": b"a", "b.tmp": b"b", "c.txt": b"c"})
    rules = tmp_path / "rules"
    rules.write_text("# comment\n*.tmp\n!b.tmp\n")
    run = ok(run_sync(src, dst, "-i", "--exclude-from", rules))
    assert sorted(run.lines) == ["+ b.tmp", "+ c.txt"]
    # a later --exclude beats the file's '!b.tmp'
    run = ok(run_sync(src, tmp_path / "dst2", "-i", "--exclude-from", rules, "--exclude", "b.*"))
    assert sorted(run.lines) == ["+ c.txt"]
    # and the file, given later, beats an earlier --exclude
    run = ok(run_sync(src, tmp_path / "dst3", "-i", "--exclude", "c.txt", "--exclude", "!a.tmp",
                      "--exclude-from", rules))
    assert sorted(run.lines) == ["+ b.tmp"]


def test_exclude_from_missing_file_is_a_usage_error(src, dst, tmp_path):
    run = run_sync(src, dst, "--exclude-from", tmp_path / "nope")
    assert run.code == 1 and "nope" in run.err
    assert not dst.exists()


def test_excluded_directory_is_not_descended(src, dst):
    build(src, {"skip": {"deep": {"f": b"f"}}, "ok": b"o"})
    # A file inside an excluded directory cannot be re-included (as in git).
    run = ok(run_sync(src, dst, "-i", "--exclude", "skip/", "--exclude", "!skip/deep/f"))
    assert run.lines == ["+ ok"]


# --- -c / --checksum ---------------------------------------------------------------

def test_checksum_catches_same_size_and_mtime(src, dst):
    build(src, {"f": b"AAAA", "same": b"ssss"})
    build(dst, {"f": b"BBBB", "same": b"ssss"})
    run = ok(run_sync(src, dst, "-i"))
    assert run.lines == []
    assert (dst / "f").read_bytes() == b"BBBB"
    run = ok(run_sync(src, dst, "-i", "--checksum"))
    assert run.lines == ["* f"]
    assert not compare(src, dst)
    assert ok(run_sync(src, dst, "-i", "-c")).lines == []


def test_checksum_with_split_directory_and_pool(src, dst):
    many = {f"f{i:05d}": b"%05d" % i for i in range(4200)}
    build(src, {"flat": many})
    build(dst, {"flat": {**many, "f00007": b"XXXXX", "f04100": b"YYYYY"}})
    run = ok(run_sync(src, dst, "-c", "--json", "--workers", "2", "--pool-threshold", "0"))
    res = run.json
    assert res["files_updated"] == 2 and res["files_copied"] == 0
    assert res["counters"]["dirs_split"] == 1
    assert not compare(src, dst)


# --- --verify -----------------------------------------------------------------------

def test_verify_copies_and_checks(src, dst):
    # Regression: the temp was opened write-only, so reading it back for
    # --verify failed with EBADF on every file.
    build(src, {"a": os.urandom(300_000), "d": {"b": b"b" * 10, "empty": b""}})
    run = ok(run_sync(src, dst, "--verify", "--json"))
    assert run.json["files_copied"] == 3 and run.json["errors"] == []
    assert not compare(src, dst)
    put(src / "a", os.urandom(300_001))
    assert ok(run_sync(src, dst, "--verify", "-i")).lines == ["* a"]
    assert not compare(src, dst)


# --- -i / --itemize format --------------------------------------------------------------

def test_itemize_escapes_names(src, dst):
    names = {b"new\nline": "new\\nline", b"back\\slash": "back\\\\slash",
             b"\xff\xfe-raw": "\\xff\\xfe-raw", b"tab\there": "tab\\there",
             "caf\u00e9".encode(): "caf\u00e9", b"sp ace": "sp ace"}
    for raw in names:
        put(os.path.join(os.fsencode(src), raw), b"x")
    mkdir(os.path.join(os.fsencode(src), b"d\nir"))
    put(os.path.join(os.fsencode(src), b"d\nir", b"\x80"), b"y")
    run = ok(run_sync(src, dst, "-i"))
    expect = {"+ " + v for v in names.values()} | {"+ d\\nir/", "+ d\\nir/\\x80"}
    assert set(run.lines) == expect and len(run.lines) == len(expect)
    assert not compare(src, dst)


def test_itemize_dir_mtime_caused_by_new_children_prints_nothing(src, dst):
    build(src, {"d": {"old": b"o"}, "e": {"x": b"x"}})
    ok(run_sync(src, dst))
    put(src / "d" / "new", b"n")  # bumps src/d's mtime, as a real change does
    os.utime(src / "e", ns=(T0 + 7, T0 + 7))  # only e's own mtime changes
    run = ok(run_sync(src, dst, "-i"))
    assert sorted(run.lines) == ["* e/", "+ d/new"]
    assert not compare(src, dst)


def test_itemize_root_itself(src, dst):
    build(src, {"a": b"a"})
    ok(run_sync(src, dst))
    os.chmod(src, 0o750)
    assert ok(run_sync(src, dst, "-i")).lines == ["* ./"]
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o750


def test_itemize_deleted_tree_deepest_first(src, dst):
    build(src, {"k": b"k"})
    build(dst, {"k": b"k", "t": {"a": {"b": {"c": b"c"}, "f": b"f"}, "g": b"g"}})
    lines = ok(run_sync(src, dst, "-i", "--delete")).lines
    assert sorted(lines) == ["- t/", "- t/a/", "- t/a/b/", "- t/a/b/c", "- t/a/f", "- t/g"]
    pos = {line[2:]: i for i, line in enumerate(lines)}
    for p in pos:  # every entry is listed before the directory holding it
        parent = p.rstrip("/").rpartition("/")[0]
        if parent:
            assert pos[p] < pos[parent + "/"], lines


def test_owner_and_special_mode_bits(src, dst):
    """As root: uid/gid are mirrored, and set-id bits survive the chown that
    clears them."""
    build(src, {"f": b"f", "d": {"g": b"g"}, "ln": ("link", "f")})
    os.chown(src / "f", 1234, 5678)
    os.chmod(src / "f", 0o6755)
    os.chown(src / "d", 4321, 8765)
    os.chmod(src / "d", 0o2775)
    os.chown(src / "ln", 999, 998, follow_symlinks=False)
    for p in ("d", ""):
        os.utime(src / p, ns=(T0, T0))
    ok(run_sync(src, dst))
    assert compare(src, dst, owner=True) == []
    assert stat.S_IMODE(os.stat(dst / "f").st_mode) == 0o6755
    os.chown(src / "f", 1235, 5678)
    os.chmod(src / "f", 0o6755)
    os.chown(src / "d" / "g", 1, 1)
    os.chown(src / "ln", 997, 998, follow_symlinks=False)
    os.chown(src / "d", 4321, 8766)
    os.chmod(src / "d", 0o2775)
    run = ok(run_sync(src, dst, "-i"))
    assert sorted(run.lines) == ["* d/", "* d/g", "* f", "* ln"]
    assert compare(src, dst, owner=True) == []
    assert stat.S_IMODE(os.stat(dst / "f").st_mode) == 0o6755
    assert stat.S_IMODE(os.stat(dst / "d").st_mode) == 0o2775


# --- --json -------------------------------------------------------------------------------

def test_json_fields(src, dst):
    scenario(src, dst)
    res = ok(run_sync(src, dst, "--json", "--delete", "--workers", "1")).json
    types = {"files_total": int, "files_copied": int, "files_updated": int,
             "files_deleted": int, "dirs_created": int, "dirs_deleted": int,
             "bytes_copied": int, "errors": list, "exit_code": int, "elapsed_s": float,
             "workers": int, "mode": str}
    for k, t in types.items():
        assert isinstance(res[k], t), (k, res.get(k))
    # new/f1 new/sub/f2 file2dir/inner dir2file link2file keep/added: copied
    assert res["files_copied"] == 6
    assert res["files_updated"] == 2  # upd.txt (content), meta.txt (mode)
    assert res["files_deleted"] == 7  # gone.txt, gonedir's 4 files, dir2file's x and y
    assert res["dirs_created"] == 3  # new, new/sub, file2dir
    assert res["dirs_deleted"] == 4  # gonedir, gonedir/a, dir2file, dir2file/deep
    assert res["files_total"] == 12
    assert res["bytes_copied"] == len(b"one" b"two" b"i" b"now a file" b"was a link" b"a"
                                      b"new content")
    assert res["errors"] == [] and res["exit_code"] == 0
    assert res["workers"] == 1 and res["mode"] == "sequential"
    assert res["elapsed_s"] >= 0


def test_json_errors_are_records(src, dst):
    build(src, {"a": {"f": b"f"}, "b": b"b"})
    os.symlink("/nonexistent", src / "a" / ".syncignore")
    run = run_sync(src, dst, "--json")
    assert run.code == 23
    res = run.json
    assert res["exit_code"] == 23
    [err] = res["errors"]
    assert {"path", "op", "errno", "message"} <= set(err)
    assert err["path"] == "a/.syncignore" and err["op"] == "list-src"
    assert err["errno"] == 40  # ELOOP: O_NOFOLLOW on a symlink
    assert isinstance(err["message"], str) and err["message"]


def test_json_and_itemize_contradict(src, dst):
    run = run_sync(src, dst, "--json", "-i")
    assert run.code == 1 and "pick one" in run.err


# --- -H / --hard-links ---------------------------------------------------------------------

@pytest.mark.parametrize("workers", [["--workers", "1"], ["--workers", "2", "--pool-threshold", "0"]])
def test_hard_links_across_directories(src, dst, workers):
    build(src, {"a": {"one": b"1" * 100, "solo": b"s"}, "b": {"c": {}}, "z": {}})
    for name in ("b/two", "b/c/three", "z/four"):
        os.link(src / "a" / "one", src / name)
    build(src / "x", {f"f{i}": b"%d" % i for i in range(50)})
    os.link(src / "x" / "f1", src / "x" / "g1")
    os.link(src / "x" / "f1", src / "a" / "h1")
    ok(run_sync(src, dst, "-H", *workers))
    assert not compare(src, dst)
    group1 = {os.lstat(dst / p).st_ino for p in ("a/one", "b/two", "b/c/three", "z/four")}
    group2 = {os.lstat(dst / p).st_ino for p in ("x/f1", "x/g1", "a/h1")}
    assert len(group1) == 1 and len(group2) == 1 and group1 != group2
    assert os.lstat(dst / "a" / "one").st_nlink == 4
    assert os.lstat(dst / "a" / "solo").st_nlink == 1
    again = ok(run_sync(src, dst, "-H", "-i", *workers))
    assert again.lines == []


def test_without_hard_links_files_are_copied_apart(src, dst):
    build(src, {"a": b"a"})
    os.link(src / "a", src / "b")
    ok(run_sync(src, dst))
    assert os.lstat(dst / "a").st_ino != os.lstat(dst / "b").st_ino
    # ... and -H later joins them without changing anything visible
    assert ok(run_sync(src, dst, "-H", "-i")).lines == []
    assert os.lstat(dst / "a").st_ino == os.lstat(dst / "b").st_ino
    assert not compare(src, dst)


# --- exit codes -------------------------------------------------------------------------------

def test_exit_0_and_nothing_on_stderr(src, dst):
    build(src, {"a": b"a"})
    run = ok(run_sync(src, dst))
    assert run.err == "" and run.out == ""


@pytest.mark.parametrize("args", [["--bogus"], ["--workers", "0"], ["--workers", "many"],
                                  ["--max-delete", "-1"], ["--pool-threshold", "-5"],
                                  ["--progress", "--no-progress"], ["--ignore-file", "a/b"]])
def test_exit_1_usage(src, dst, args):
    build(src, {"a": b"a"})
    run = run_sync(src, dst, *args)
    assert run.code == 1, run
    assert "error" in run.err
    assert not dst.exists()


def test_exit_1_dst_is_a_file(src, tmp_path):
    build(src, {"a": b"a"})
    put(tmp_path / "file", b"f")
    run = run_sync(src, tmp_path / "file")
    assert run.code == 1 and "not a directory" in run.err
    assert (tmp_path / "file").read_bytes() == b"f"


def test_exit_3_src_missing_or_not_a_dir(tmp_path, dst):
    run = run_sync(tmp_path / "nope", dst)
    assert run.code == 3 and "SRC" in run.err
    put(tmp_path / "file")
    assert run_sync(tmp_path / "file", dst).code == 3
    assert not dst.exists()


def test_exit_3_dst_parent_missing(src, tmp_path):
    build(src, {"a": b"a"})
    run = run_sync(src, tmp_path / "no" / "such" / "dst")
    assert run.code == 3 and "parent" in run.err
    assert not (tmp_path / "no").exists()


def test_dst_that_cannot_be_created_is_one_line_not_a_traceback(src, tmp_path):
    """Regression: a failing mkdir of DST (or open of a root, or of the lock
    dir) escaped as a Python traceback."""
    build(src, {"a": b"a"})
    parent = tmp_path / "parent"
    mkdir(parent)
    set_immutable(parent, True)
    try:
        run = run_sync(src, parent / "dst")
    finally:
        set_immutable(parent, False)
    assert run.code == 11, run
    assert run.err.startswith("stealsync: error: DST ") and "Operation not permitted" in run.err
    assert "Traceback" not in run.err
    assert not (parent / "dst").exists()
    put(tmp_path / "not-a-dir", b"")
    run = run_sync(src, tmp_path / "dst", "--lock-dir", tmp_path / "not-a-dir" / "locks")
    assert run.code == 1 and "lock dir" in run.err and "Traceback" not in run.err
    assert not (tmp_path / "dst").exists()


def test_exit_23_partial_on_an_immutable_dst_directory(src, dst):
    build(src, {"locked": {"f": b"new"}, "free": {"g": b"g"}, "top": b"t"})
    build(dst, {"locked": {"f": b"old!"}})
    set_immutable(dst / "locked", True)
    try:
        run = run_sync(src, dst, "--json")
    finally:
        set_immutable(dst / "locked", False)
    assert run.code == 23, run
    res = run.json
    # EPERM creating the temp in the immutable directory, then setting its mode
    assert sorted((e["path"], e["op"], e["errno"]) for e in res["errors"]) == [
        ("locked", "set-meta", 1), ("locked/f", "create", 1)]
    assert (dst / "locked" / "f").read_bytes() == b"old!"
    assert (dst / "free" / "g").read_bytes() == b"g" and (dst / "top").read_bytes() == b"t"
    assert temps(dst) == []
    assert "locked/f" in run.err
    ok(run_sync(src, dst))
    assert not compare(src, dst)


def test_exit_23_listing_error_keeps_going(src, dst):
    build(src, {"bad": {"f": b"f"}, "good": {"g": b"g"}})
    os.symlink("nowhere", src / "bad" / ".syncignore")
    run = run_sync(src, dst, "-i")
    assert run.code == 23
    assert "bad/.syncignore" in run.err
    assert "+ good/g" in run.lines and "+ bad/f" not in run.lines
    assert (dst / "good" / "g").exists()


def test_no_ignore_files_skips_the_broken_ignore_file(src, dst):
    build(src, {"bad": {"f": b"f"}})
    link(src / "bad" / ".syncignore", "nowhere")
    ok(run_sync(src, dst, "--no-ignore-files"))
    assert not compare(src, dst)
