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
