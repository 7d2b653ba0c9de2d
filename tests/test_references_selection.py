"""`make references CHAPTERS=...`: a chapter's reference is made after the chapters before it,
as the test suite runs them (chapter 11 reads the runs chapter 6 stored)."""
from __future__ import annotations

import json
from pathlib import Path


def test_a_selection_runs_every_earlier_chapter_and_writes_only_the_asked(tmp_path,
                                                                          monkeypatch):
    import os

    from semisup_utils.book.nbval_references import make_references

    for name in ("SEMISUP_RESULTS", "SEMISUP_CACHE", "OMP_NUM_THREADS"):  # it sets them
        if name in os.environ:  # restored as they were after the test
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    from semisup_utils.book.chapters import chapters

    calls = []

    def fake_run(names, profile, parameters, output_dir):
        calls.append((list(names), profile))
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        for name in names:
            (Path(output_dir) / f"{name}.ipynb").write_text(json.dumps({"chapter": name}))

    made = make_references(tmp_path, ["06", "11"], run=fake_run)
    stems = [c.stem for c in chapters()]
    eleven = next(s for s in stems if s.startswith("11_"))
    assert calls == [(stems[:stems.index(eleven) + 1], "smoke")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{s}.ipynb" for s in made)
    assert [s[:2] for s in made] == ["06", "11"]
    assert json.loads((tmp_path / f"{eleven}.ipynb").read_text()) == {"chapter": eleven}
