"""The README's two commands, and the install files that must agree with each other."""
import re
import subprocess

import yaml

from conftest import ROOT


def readme_commands():
    block = re.search(r"<!-- commands -->\s*```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def pins(lines):
    return sorted(line.strip() for line in lines if line.strip() and not line.strip().startswith("#"))


def test_readme_has_two_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert commands == ["make demo", "make test"]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd "))]
    assert ci == ["make test"]


def test_environment_files_match_requirements():
    expected = pins((ROOT / "requirements.txt").read_text().splitlines()
                    + (ROOT / "requirements-test.txt").read_text().splitlines())
    for env_file in ("environment.yml", "binder/environment.yml"):
        env = yaml.safe_load((ROOT / env_file).read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        assert sorted(p for p in pip if not p.startswith("--")) == expected, env_file
        assert "python=3.11" in env["dependencies"]
    assert "torch==2.13.0" in expected
    # Binder gets the Debian packages minus the browser, which only the browser test needs
    apt = pins((ROOT / "apt.txt").read_text().splitlines())
    assert pins((ROOT / "binder" / "apt.txt").read_text().splitlines()) == [p for p in apt if p != "chromium"]
    assert "chromium" in apt


def test_make_demo_produces_the_mix(tmp_path):
    """`make demo`, as the README says (the venv exists already, so it only runs the demo)."""
    r = subprocess.run(["make", "demo", f"DEMO_OUT={tmp_path}"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("mix.wav", "orchestra_warped.wav", "report.json", "time_map.csv"):
        assert (tmp_path / name).stat().st_size > 0


def test_the_repository_needs_nothing_beside_it():
    """What the package, the tests, the benchmarks, the notebooks and the build read is in the clone: no path
    reaches out of it to a `shared` folder, and every licensed source folder is listed with its provenance."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    code = [f for f in tracked if f.endswith((".py", ".ipynb", ".sh", ".yml", ".toml")) or f in ("Makefile", ".ci/run")]
    outside = re.compile(r"\.\./shared|\"shared\" / \"data\"|parent\.parent\.parent")
    offenders = [f for f in code if outside.search((ROOT / f).read_text(errors="replace"))]
    assert offenders == []
    sources = ROOT / "data" / "sources"
    notice = (sources / "NOTICE.md").read_text()
    folders = sorted(p.name for p in sources.iterdir() if p.is_dir())
    assert folders and all(f"`{name}/`" in notice and (sources / name / "PROVENANCE.md").exists() for name in folders)


def test_a_binder_build_fetches_only_packages_and_finds_its_data():
    """What repo2docker would run from binder/: package indexes and nothing else from outside, and every data file
    a notebook opens is in the clone."""
    post_build = [line for line in (ROOT / "binder" / "postBuild").read_text().splitlines()
                  if line.strip() and not line.startswith("#")]
    assert not any(re.search(r"\b(curl|wget|git clone|http)", line) for line in post_build), post_build
    urls = re.findall(r"https?://\S+", (ROOT / "binder" / "environment.yml").read_text())
    assert all(u.startswith("https://download.pytorch.org/whl/cpu") for u in urls), urls
    from concerto_nb import data

    names = set()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        names |= set(re.findall(r'demo_path\(\\"(\w+)\\"\)', nb.read_text()))
    assert len(names) >= 4 and all(data.demo_path(name).exists() for name in names), names


def test_every_public_function_names_the_notebook_that_teaches_it():
    import importlib
    import inspect

    missing = []
    for name in ("separation", "model", "mixes", "performance", "adaptation", "tsm", "practice", "mixing",
                 "evaluation", "render", "data", "pipeline", "io", "sync.audio_features", "sync.timemap", "sync.jumps",
                 "sync.diagnostics", "sync.alignment"):
        module = importlib.import_module(f"concerto_nb.{name}")
        for attr in module.__all__:
            obj = getattr(module, attr)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
                notebook = re.search(r"Notebook: ``(\d\d_\w+)``", obj.__doc__ or "")
                if not notebook or not (ROOT / "notebooks" / f"{notebook.group(1)}.ipynb").exists():
                    missing.append(f"{name}.{attr}")
    assert missing == []
