"""Rules of the code layout that no behaviour test would catch: one home per shared constant, and imports that
only point down the layers audiokit -> datasets/corrupt -> models -> inference -> benchmarks."""
import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("audiokit", "datasets", "corrupt", "models", "inference", "benchmarks")
SHARED = {"SAMPLE_RATE", "N_FFT", "HOP_LENGTH", "N_BINS", "SEGMENT_SAMPLES"}
HOME = os.path.join("audiokit", "constants.py")


def modules(*packages):
    for package in packages:
        for name in sorted(os.listdir(os.path.join(REPO, package))):
            if name.endswith(".py"):
                path = os.path.join(package, name)
                with open(os.path.join(REPO, path)) as file:
                    yield path, ast.parse(file.read())


def assigned_names(tree):
    """Names bound by module-level assignments."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name):
                    names.add(leaf.id)
    return names


def imported_packages(tree):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_shared_constants_are_defined_only_in_their_home():
    homes = {}
    for path, tree in modules(*PACKAGES, "."):
        for name in assigned_names(tree) & SHARED:
            homes.setdefault(name, []).append(path)
    assert homes == {name: [HOME] for name in SHARED}


@pytest.mark.parametrize("package, above", [("audiokit", {"datasets", "corrupt", "models", "inference", "benchmarks"}),
                                            ("datasets", {"corrupt", "models", "inference", "benchmarks"}),
                                            ("corrupt", {"models", "inference", "benchmarks"}),
                                            ("models", {"inference", "benchmarks"}),
                                            ("inference", {"benchmarks"})])
def test_imports_point_down(package, above):
    upward = {path: sorted(imported_packages(tree) & above) for path, tree in modules(package)}
    assert {path: names for path, names in upward.items() if names} == {}
