"""PEP 517 build backend for the sdist: maturin, after a check that Rust is there.

pip and uv build the sdist only where no wheel fits the platform. Without this check maturin either tries to install
a Rust toolchain into a temporary directory (a long download, or a network error far from the cause) or fails in
`cargo metadata`; with it the user reads which platforms have wheels and what building from source needs."""

import os
import re
import shutil
import subprocess
import sys

import maturin

RUST_MIN = (1, 94)
WHEELS = (
    "Linux x86_64 and arm64 (glibc 2.17+ and musl), macOS arm64 and x86_64, Windows x86_64"
)


def _cargo():
    found = shutil.which("cargo")
    if found:
        return found
    home = os.environ.get("CARGO_HOME") or os.path.join(os.path.expanduser("~"), ".cargo")
    candidate = os.path.join(home, "bin", "cargo" + (".exe" if os.name == "nt" else ""))
    return candidate if os.path.isfile(candidate) else None


def _refuse(why):
    raise SystemExit(
        f"aurora-dsql-mcp-rs: {why}\n"
        f"  There is no prebuilt wheel for this platform (wheels exist for {WHEELS}),\n"
        "  so pip/uv are building it from source, which needs Rust "
        f"{RUST_MIN[0]}.{RUST_MIN[1]} or newer (https://rustup.rs).\n"
        "  Install Rust and run the same command again, or build the server directly:\n"
        "    cargo install --locked aurora-dsql-mcp-rs"
    )


def _require_rust():
    cargo = _cargo()
    if cargo is None:
        _refuse("building from source needs Rust's cargo, which is not on PATH.")
    try:
        out = subprocess.run([cargo, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        _refuse(f"`{cargo} --version` failed ({err}).")
    found = re.search(r"(\d+)\.(\d+)", out)
    if found and (int(found.group(1)), int(found.group(2))) < RUST_MIN:
        _refuse(f"{out.strip()} is too old.")
    bindir = os.path.dirname(cargo)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def get_requires_for_build_sdist(config_settings=None):
    return maturin.get_requires_for_build_sdist(config_settings)


def build_sdist(sdist_directory, config_settings=None):
    return maturin.build_sdist(sdist_directory, config_settings)


def get_requires_for_build_wheel(config_settings=None):
    # Not maturin's: it asks for a Rust installer when cargo is missing; we say so instead (in the hooks below).
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _require_rust()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _require_rust()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


if __name__ == "__main__":  # `python aurora_build.py`: the check alone, for tests
    _require_rust()
    print("rust ok", file=sys.stderr)
