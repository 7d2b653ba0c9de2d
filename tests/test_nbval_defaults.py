"""`pytest tests/nbval/02_pca.ipynb --nbval` compares as `make nbval` does: tests/conftest.py
sets nbval's sanitizer file and current-environment kernel where the command line gives none
(docs/testing.md), and leaves a user's own choice alone."""
from __future__ import annotations

from argparse import Namespace
from pathlib import Path
from types import SimpleNamespace

import pytest

import conftest

SANITIZER = Path(conftest.__file__).parent / "nbval" / "sanitize.cfg"
# nbval 0.11's option names (nbval/plugin.py) as the command line leaves them without flags
NBVAL_OPTIONS = {"nbval_sanitize_with": None, "nbval_current_env": False,
                 "nbval_kernel_name": None, "sanitize_with": None, "current_env": False}


def options(**given) -> Namespace:
    return Namespace(**{**NBVAL_OPTIONS, **given})


def test_the_options_exist_under_these_names(pytestconfig):
    """If nbval renamed them, the defaults would set attributes nobody reads."""
    for name in NBVAL_OPTIONS:
        assert hasattr(pytestconfig.option, name), f"nbval has no option {name!r}"
    assert SANITIZER.is_file()


def test_this_session_got_the_defaults(pytestconfig):
    """The hook ran in this very session: without flags, nbval would compare unsanitised
    outputs in the kernel the notebook names."""
    option = pytestconfig.option
    if option.nbval_kernel_name or option.current_env or option.sanitize_with:
        pytest.skip("this session was given its own nbval kernel or sanitizer")
    assert option.nbval_sanitize_with is not None
    assert Path(option.nbval_sanitize_with).resolve() == SANITIZER.resolve()
    assert option.nbval_current_env is True


def test_no_flags_get_the_project_flags():
    option = options()
    conftest.apply_nbval_defaults(option)
    assert Path(option.nbval_sanitize_with) == SANITIZER
    assert option.nbval_current_env is True


def test_a_users_own_choice_is_kept():
    own = options(nbval_sanitize_with="my.cfg", nbval_kernel_name="other")
    conftest.apply_nbval_defaults(own)
    assert own.nbval_sanitize_with == "my.cfg"
    assert own.nbval_current_env is False  # a named kernel is not overridden


def test_the_deprecated_aliases_still_work_with_nbval():
    """nbval refuses an alias given beside its new name: the defaults must not add one."""
    from nbval import plugin

    option = options(sanitize_with="my.cfg", current_env=True, nbdime=False, nbval=True,
                     nbval_lax=False)
    conftest.apply_nbval_defaults(option)
    with pytest.warns(DeprecationWarning):
        plugin.pytest_configure(SimpleNamespace(option=option))
    assert option.nbval_sanitize_with == "my.cfg"
    assert option.nbval_current_env is True
