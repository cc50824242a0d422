"""What a bento lists so that it runs on a fresh node: a table per rule."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.bento_requirements import (
    Requirements,
    bento_packages,
    canonical_name,
    conda_pip_lines,
    read_requirements,
)

BUILT_WITH = {"mlflow": "3.17.2", "numpy": "2.3.0", "scikit-learn": "1.9.1"}


@pytest.mark.parametrize(
    "line",
    [
        "numpy",
        "scikit-learn==1.9.1",
        "Scikit_Learn>=1.3,<2",
        "pandas ~= 2.2",
        "mlflow[extras]==3.17.2",
        "cloudpickle==3.0.0 ; python_version >= '3.9'",
        "torch===2.1.0+cpu",
    ],
)
def test_a_plain_pypi_requirement_is_kept_as_written(line: str) -> None:
    assert read_requirements([line]) == Requirements(kept=(line,))


@pytest.mark.parametrize(
    "line",
    [
        "-e .",
        "-r other.txt",
        "--index-url https://pypi.example/simple",
        "./vendor/mylib",
        "/abs/path/mylib",
        "../mylib-1.0.tar.gz",
        "mylib-1.0-py3-none-any.whl",
        "git+https://github.com/x/y.git",
        "mylib @ https://example.com/mylib-1.0.zip",
        "mylib @ file:///tmp/mylib",
        "https://example.com/mylib.tar.gz",
    ],
)
def test_a_path_a_url_an_editable_or_an_option_is_dropped_and_reported(line: str) -> None:
    read = read_requirements(["numpy", line])
    assert read.kept == ("numpy",)
    assert read.dropped == (f"{line} (not a plain PyPI requirement)",)


def test_comments_and_blank_lines_are_neither_kept_nor_reported() -> None:
    read = read_requirements(["# pinned by mlflow", "", "  ", "numpy  # the array library"])
    assert read == Requirements(kept=("numpy",))


@pytest.mark.parametrize(
    ("environment", "lines"),
    [
        (
            {"dependencies": ["python=3.11", "pip<=23", {"pip": ["mlflow==3", "numpy"]}]},
            ["mlflow==3", "numpy"],
        ),
        ({"dependencies": [{"pip": ["numpy"]}, "pandas", {"pip": [2.0]}]}, ["numpy", "2.0"]),
        ({"dependencies": ["python=3.11", {"pip": "numpy"}]}, []),
        ({"dependencies": None}, []),
        ({}, []),
        (["not", "a", "mapping"], []),
    ],
)
def test_a_conda_environment_gives_its_pip_section(environment: Any, lines: list[str]) -> None:
    assert conda_pip_lines(environment) == lines


@pytest.mark.parametrize(
    ("model", "packages"),
    [
        (  # MLflow's own requirements.txt: a pin kept, bare names pinned to what was built with
            ("mlflow==3.17.2", "scikit-learn", "numpy", "pandas"),
            (
                "mlflow==3.17.2",
                "scikit-learn==1.9.1",
                "numpy==2.3.0",
                "pandas",
            ),
        ),
        (  # the model's own specifier wins over the build's version, whatever its spelling
            ("Scikit_Learn>=1.3,<2", "xgboost==2.0.3"),
            (
                "Scikit_Learn>=1.3,<2",
                "xgboost==2.0.3",
                "mlflow==3.17.2",
                "numpy==2.3.0",
            ),
        ),
        ((), ("mlflow==3.17.2", "numpy==2.3.0", "scikit-learn==1.9.1")),
    ],
)
def test_the_bento_lists_the_models_requirements_then_the_services_needs(
    model: tuple[str, ...], packages: tuple[str, ...]
) -> None:
    assert bento_packages(Requirements(kept=model), BUILT_WITH) == packages


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("Scikit_Learn", "scikit-learn"), ("zope.interface", "zope-interface"), ("NumPy", "numpy")],
)
def test_package_names_compare_in_their_normal_form(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical
