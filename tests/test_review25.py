"""Review of the output plan's naming transaction (review25): what a failure part way leaves behind."""

import pytest

import phylo_llm as pl


@pytest.mark.parametrize("unnamed", [True, False])
def test_a_plan_whose_naming_fails_removes_the_folders_it_created(tmp_path, monkeypatch, unnamed):
    """A folder the plan created for its outputs is removed again when the naming fails part way (a target became
    a folder after the checks), as it is when the block fails or a stop signal undoes the naming: the user's folder
    is as it was, not holding a new empty folder. Also with the named hidden files used when O_TMPFILE is missing."""
    import os

    if not unnamed:
        monkeypatch.delattr(os, "O_TMPFILE")
    (tmp_path / "b.txt").write_text("old\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    plan = pl.io.OutputPlan()
    plan.add_folder(tmp_path / "new")
    created = plan.add_folder(tmp_path / "new" / "sub")
    plan.add_folder(tmp_path / "new2")
    blocked = plan.add(tmp_path / "c.txt")
    with pytest.raises(pl.PhyloLLMError, match=r"c\.txt: cannot write \(Is a directory\)"), plan:
        for path in (created / "a.txt", tmp_path / "b.txt", blocked):
            with pl.io.atomic_output(path) as handle:
                handle.write("new\n")
        blocked.mkdir()  # after the checks, before the naming
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "c.txt"])
    assert (tmp_path / "b.txt").read_text() == "old\n" and not list(blocked.iterdir()) and not plan.published


@pytest.mark.parametrize("in_plan", [True, False])
def test_a_stop_signal_whose_handler_does_not_raise_never_passes_for_a_written_file(tmp_path, monkeypatch, in_plan):
    """A program that handles SIGTERM by noting it (a service's graceful shutdown) and gets one while an output is
    named: the naming is undone, so the call must not return as if the file were written; it says it was not.
    Before, atomic_output and the plan's block returned normally and the file was simply not there."""
    import signal
    import threading

    from phylo_llm.io import _output

    noted = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: noted.append(signum))
    publish = _output._Staged.publish

    def publish_and_stop(self):
        kept = publish(self)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
        return kept

    monkeypatch.setattr(_output._Staged, "publish", publish_and_stop)
    target = tmp_path / "dna.csv"
    try:
        with pytest.raises(pl.PhyloLLMError, match="dna.csv: not written"):
            if in_plan:
                plan = pl.io.OutputPlan()
                plan.add(target)
                with plan, pl.io.atomic_output(target) as handle:
                    handle.write("model\n")
            else:
                with pl.io.atomic_output(target) as handle:
                    handle.write("model\n")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert noted == [signal.SIGTERM] and not list(tmp_path.iterdir())


def test_an_output_that_is_a_special_file_is_refused_not_replaced(tmp_path, capsys):
    """A FIFO (or a device: ``-o /dev/null`` run as root) given as an output was replaced by a regular file, the
    user's pipe or device gone. It is refused before any work, one line, exit 2, and stays what it was."""
    import os
    import stat

    from phylo_llm.cli._app import main

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code = main(["tree", "data/demo/dna.parquet", "-o", str(fifo), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"{fifo}: " in err and "not a regular file" in err, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with pytest.raises(pl.PhyloLLMError, match="not a regular file"), pl.io.atomic_output(fifo) as handle:
        handle.write("x\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
